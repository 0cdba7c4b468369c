src/pg/commit_wake.o: src/pg/commit_wake.cpp src/pg/pg.h \
 src/pg/shared_state.h src/pg/commit_wake.h
src/pg/pg.h:
src/pg/shared_state.h:
src/pg/commit_wake.h:

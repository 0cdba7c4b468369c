src/pg/entry.o: src/pg/entry.cpp src/pg/pg.h src/pg/settings.h \
 src/pg/shared_state.h src/pg/commit_wake.h
src/pg/pg.h:
src/pg/settings.h:
src/pg/shared_state.h:
src/pg/commit_wake.h:

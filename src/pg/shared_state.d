src/pg/shared_state.o: src/pg/shared_state.cpp src/pg/pg.h \
 src/pg/shared_state.h
src/pg/pg.h:
src/pg/shared_state.h:

src/pg/status.o: src/pg/status.cpp src/pg/pg.h src/pg/shared_state.h
src/pg/pg.h:
src/pg/shared_state.h:

src/pg/store.o: src/pg/store.cpp src/pg/pg.h src/pg/store.h
src/pg/pg.h:
src/pg/store.h:

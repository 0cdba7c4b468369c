src/pg/settings.o: src/pg/settings.cpp src/pg/pg.h src/pg/settings.h
src/pg/pg.h:
src/pg/settings.h:

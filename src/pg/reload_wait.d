src/pg/reload_wait.o: src/pg/reload_wait.cpp src/pg/pg.h \
 src/pg/reload_wait.h
src/pg/pg.h:
src/pg/reload_wait.h:

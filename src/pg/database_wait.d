src/pg/database_wait.o: src/pg/database_wait.cpp src/pg/pg.h \
 src/pg/database_wait.h src/pg/settings.h src/pg/shared_state.h \
 src/pg/reload_wait.h
src/pg/pg.h:
src/pg/database_wait.h:
src/pg/settings.h:
src/pg/shared_state.h:
src/pg/reload_wait.h:

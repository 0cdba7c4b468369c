src/worker/main.o: src/worker/main.cpp src/worker/worker.h \
 src/core/backoff.h src/core/boundary.h src/core/presence.h \
 src/core/send_pipeline.h src/xmpp/resolver.h src/xmpp/session.h \
 src/core/roster_requests.h src/pg/pg.h src/pg/shared_state.h \
 src/pg/store.h src/pg/database_wait.h src/pg/reload_wait.h \
 src/pg/settings.h
src/worker/worker.h:
src/core/backoff.h:
src/core/boundary.h:
src/core/presence.h:
src/core/send_pipeline.h:
src/xmpp/resolver.h:
src/xmpp/session.h:
src/core/roster_requests.h:
src/pg/pg.h:
src/pg/shared_state.h:
src/pg/store.h:
src/pg/database_wait.h:
src/pg/reload_wait.h:
src/pg/settings.h:

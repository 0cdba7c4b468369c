src/worker/sending.o: src/worker/sending.cpp src/core/stanza.h \
 src/core/boundary.h src/worker/worker.h src/core/backoff.h \
 src/core/presence.h src/core/send_pipeline.h src/xmpp/resolver.h \
 src/xmpp/session.h src/core/roster_requests.h src/pg/pg.h \
 src/pg/shared_state.h src/pg/store.h src/pg/settings.h
src/core/stanza.h:
src/core/boundary.h:
src/worker/worker.h:
src/core/backoff.h:
src/core/presence.h:
src/core/send_pipeline.h:
src/xmpp/resolver.h:
src/xmpp/session.h:
src/core/roster_requests.h:
src/pg/pg.h:
src/pg/shared_state.h:
src/pg/store.h:
src/pg/settings.h:

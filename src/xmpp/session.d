src/xmpp/session.o: src/xmpp/session.cpp src/core/boundary.h \
 src/xmpp/session.h src/core/presence.h src/core/roster_requests.h \
 src/core/jid.h src/core/stanza.h src/xmpp/xml.h
src/core/boundary.h:
src/xmpp/session.h:
src/core/presence.h:
src/core/roster_requests.h:
src/core/jid.h:
src/core/stanza.h:
src/xmpp/xml.h:

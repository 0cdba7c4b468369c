src/xmpp/session_roster.o: src/xmpp/session_roster.cpp \
 src/core/boundary.h src/xmpp/session.h src/core/presence.h \
 src/core/roster_requests.h src/core/jid.h src/xmpp/xml.h
src/core/boundary.h:
src/xmpp/session.h:
src/core/presence.h:
src/core/roster_requests.h:
src/core/jid.h:
src/xmpp/xml.h:

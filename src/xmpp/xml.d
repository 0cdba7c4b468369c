src/xmpp/xml.o: src/xmpp/xml.cpp src/core/boundary.h src/xmpp/xml.h
src/core/boundary.h:
src/xmpp/xml.h:

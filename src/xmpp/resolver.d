src/xmpp/resolver.o: src/xmpp/resolver.cpp src/core/boundary.h \
 src/xmpp/resolver.h
src/core/boundary.h:
src/xmpp/resolver.h:

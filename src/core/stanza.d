src/core/stanza.o: src/core/stanza.cpp src/core/stanza.h \
 src/core/boundary.h src/core/jid.h
src/core/stanza.h:
src/core/boundary.h:
src/core/jid.h:

src/core/presence.o: src/core/presence.cpp src/core/presence.h \
 src/core/boundary.h src/core/jid.h
src/core/presence.h:
src/core/boundary.h:
src/core/jid.h:

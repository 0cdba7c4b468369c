src/core/jid.o: src/core/jid.cpp src/core/jid.h src/core/boundary.h
src/core/jid.h:
src/core/boundary.h:

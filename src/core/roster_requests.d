src/core/roster_requests.o: src/core/roster_requests.cpp \
 src/core/roster_requests.h src/core/boundary.h src/core/jid.h
src/core/roster_requests.h:
src/core/boundary.h:
src/core/jid.h:

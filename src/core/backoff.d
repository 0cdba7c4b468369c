src/core/backoff.o: src/core/backoff.cpp src/core/backoff.h \
 src/core/boundary.h
src/core/backoff.h:
src/core/boundary.h:

src/core/send_pipeline.o: src/core/send_pipeline.cpp \
 src/core/send_pipeline.h src/core/boundary.h src/core/jid.h
src/core/send_pipeline.h:
src/core/boundary.h:
src/core/jid.h:

#!/bin/sh
# Runs a train_tiny script with Debian's Python and the settings that make PyTorch usable on CPU:
# - Debian's python3-torch calls whatever libblas.so.3 the system selects; the reference BLAS
#   runs matmuls ~20x slower than OpenBLAS (libopenblas0-pthread), so prefer OpenBLAS for this
#   process only, without changing the system-wide alternative.
# - glibc returns large freed blocks to the OS and page-faults them back on the next step; a
#   high mmap/trim threshold keeps activations' memory mapped (about 2x faster steps).
cd "$(dirname "$0")"
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184 MALLOC_TOP_PAD_=1073741824
exec /usr/bin/python3 "$@"

# A SageMaker training image (bring your own container) that builds fitwatch
# and runs the Fashion-MNIST example. SageMaker starts it as
# `docker run <image> train`; /usr/local/bin/train reads the job's
# hyperparameters and runs the example, whose EMF lines go to stdout and so
# to CloudWatch Logs (/aws/sagemaker/TrainingJobs).
# https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-dockerfile.html
#
#   docker build -t fitwatch-train .            # the image (stage "train")
#   docker build --target test .                # + the container contract, checked in a RUN
#
# `make test-image` (tests/image/build_and_test.sh) builds both with podman
# from a Debian 12 root made with mmdebstrap, no registry needed.

# ---- the image: fitwatch's command and the example, built from this checkout
FROM debian:12 AS image
# The packages: deps/build.txt, the one list the Makefile and CI use too,
# installed by the same deps/install.sh (the dataset is the example's data
# when the job has no training channel).
COPY deps/install.sh deps/build.txt /tmp/fitwatch-deps/
RUN APT_OPTIONS=--no-install-recommends /tmp/fitwatch-deps/install.sh build \
 && rm -rf /var/lib/apt/lists/* /tmp/fitwatch-deps

# Only what `train` needs: the library, the fitwatch command (validate,
# replay) and the example. No Python extension (it would need pybind11) and
# no tests (doctest): both OFF. Only the folders the build reads are copied,
# so that an edit of the docs or the tests keeps this layer cached.
COPY CMakeLists.txt README.md /opt/fitwatch/
COPY cmake /opt/fitwatch/cmake
COPY include /opt/fitwatch/include
COPY src /opt/fitwatch/src
COPY tools /opt/fitwatch/tools
COPY examples /opt/fitwatch/examples
RUN cmake -S /opt/fitwatch -B /tmp/fitwatch-build -DCMAKE_BUILD_TYPE=Release \
      -DFITWATCH_BUILD_PYTHON=OFF -DFITWATCH_BUILD_TESTS=OFF -DFITWATCH_INSTALL=OFF \
 && cmake --build /tmp/fitwatch-build -j "$(nproc)" --target train_fashion_mnist fitwatch_cli \
 && install -m 0755 /tmp/fitwatch-build/examples/train_fashion_mnist /usr/local/bin/ \
 && install -m 0755 /tmp/fitwatch-build/fitwatch /usr/local/bin/ \
 && install -m 0755 /opt/fitwatch/examples/sagemaker/train /usr/local/bin/train \
 && rm -rf /tmp/fitwatch-build

WORKDIR /opt/ml

# ---- the test: `train` as SageMaker runs it, under a fake /opt/ml ---------
# (No `docker run` needed: the checks run in this RUN step; the stage is
# never the image you push.)
FROM image AS test
COPY tests/image/contract.sh /tmp/contract.sh
RUN bash /tmp/contract.sh

# ---- the default target: the image ----------------------------------------
FROM image AS train

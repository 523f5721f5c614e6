# A SageMaker training image (bring your own container) that builds fitwatch
# and runs the Fashion-MNIST example. SageMaker starts it as
# `docker run <image> train`; /usr/local/bin/train reads the job's
# hyperparameters and runs the example, whose EMF lines go to stdout and so
# to CloudWatch Logs (/aws/sagemaker/TrainingJobs).
# https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-dockerfile.html
FROM debian:12

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake make jq ca-certificates \
      nlohmann-json3-dev libtorch-dev libopenblas0-pthread zlib1g-dev \
      libyaml-cpp-dev libcurl4-openssl-dev libsimdjson-dev \
      dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*

COPY . /opt/fitwatch
RUN cmake -S /opt/fitwatch -B /opt/fitwatch/build -DCMAKE_BUILD_TYPE=Release \
      -DFITWATCH_BUILD_TESTS=OFF \
 && cmake --build /opt/fitwatch/build -j "$(nproc)" --target train_fashion_mnist fitwatch_cli \
 && install -m 0755 /opt/fitwatch/build/examples/train_fashion_mnist /usr/local/bin/ \
 && install -m 0755 /opt/fitwatch/build/fitwatch /usr/local/bin/ \
 && install -m 0755 /opt/fitwatch/examples/sagemaker/train /usr/local/bin/train

WORKDIR /opt/ml

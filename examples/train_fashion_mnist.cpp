// Real libtorch training on Fashion-MNIST, watched by fitwatch.
//
// Data: the Debian package dataset-fashion-mnist (IDX files, gzip, in
// /usr/share/datasets/fashion-mnist). Validation is held out from the
// training files; the test split (t10k) is never seen by training or by the
// detector, and is reported only as a property and in --curves.
//
// stdout: one EMF line per epoch (what SageMaker ships to CloudWatch).
// stderr: a human summary.
//
//   train_fashion_mnist --preset overfit        # overfits within a minute on 2 cores
//   train_fashion_mnist --preset regularized    # does not
//   train_fashion_mnist --sagemaker             # SageMaker's container contract (see below)
//
// --sagemaker follows the contract of a SageMaker training container
// (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html,
// https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html):
// options come from /opt/ml/input/config/hyperparameters.json (all strings;
// "True"/"False" and JSON-quoted values as the SDK writes them; fitwatch_*
// keys are fitwatch settings, docs/settings.md); the data from the training
// channel (SM_CHANNEL_TRAINING, else /opt/ml/input/data/training if it
// exists); the best weights go to SM_MODEL_DIR (/opt/ml/model) as model.pt,
// with curves.csv; any failure is written to SM_OUTPUT_DIR/failure
// (/opt/ml/output/failure), which becomes the job's FailureReason, and the
// exit code is not 0. With a checkpoint folder (hyperparameter
// checkpoint_dir, else /opt/ml/checkpoints if it exists) the run saves a
// checkpoint after every epoch and resumes from it.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <zlib.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fitwatch/settings.hpp"
#include "fitwatch/torch.hpp"

namespace {

struct config {
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::int64_t train_size = 2000;
  std::int64_t val_size = 5000;
  std::int64_t test_size = 5000;
  int epochs = 40;
  std::int64_t width = 256;
  double lr = 1e-3;
  double weight_decay = 0.0;
  double dropout = 0.0;
  double label_noise = 0.2;
  std::int64_t batch_size = 64;
  std::uint64_t seed = 1;
  int threads = 0;  // 0: libtorch's default
  bool stop = true;
  bool log_steps = false;  // also log TrainStepLoss every step (overhead benchmark)
  bool emf = true;
  bool use_fitwatch = true;  // false: the overhead baseline, nothing handed to fitwatch
  std::string curves;
  int epoch_seconds = 0;  // > 0: stamp epoch k at start + k * epoch_seconds
  std::string job_name = "fashion-mnist";
  std::string checkpoint_dir;  // save a checkpoint every epoch; resume from it
  std::string model_dir;       // the best weights as model.pt
  bool sagemaker = false;
};

const char* usage = R"(usage: train_fashion_mnist [options]
  --preset overfit|regularized  a documented set of the options below
  --train-size N    training examples used (default 2000)
  --val-size N      validation examples, held out from the training files (5000)
  --test-size N     test examples from t10k, never seen by the detector (5000)
  --epochs N        (40)          --width N       hidden units (256)
  --lr X            AdamW (1e-3)  --weight-decay X  (0)
  --dropout X       (0)           --label-noise X  fraction of training labels flipped (0.2)
  --batch-size N    (64)          --seed N        (1)
  --threads N       libtorch intra-op threads (default: libtorch's)
  --no-stop         train every epoch even after the detector says stop
  --log-steps       also log the training loss of every step (a metric per step)
  --no-emf          write the EMF lines to stderr, not stdout
  --no-fitwatch     hand nothing to fitwatch (the baseline of bench/overhead.py)
  --curves FILE     write epoch,train_loss,val_loss,test_loss,train_acc,val_acc,test_acc
  --epoch-seconds N stamp epoch k's EMF line at start + k*N seconds, as if each
                    epoch took N seconds (for replays and the demo; 0 = real time)
  --job-name NAME   TrainingJobName outside SageMaker (fashion-mnist)
  --data-dir DIR    (/usr/share/datasets/fashion-mnist)
  --checkpoint-dir DIR  save a checkpoint after every epoch; resume from it
  --model-dir DIR   write the best weights to DIR/model.pt at the end
  --sagemaker       read the options from SageMaker's files and variables
                    (hyperparameters: these options without "--", "-" as "_")
)";

void apply_preset(config& c, const std::string& name) {
  if (name == "overfit") {
    // Few examples, noisy labels, a wide unregularised net: it memorises the
    // noise and the validation loss turns up after a few epochs.
    c = config{};
  } else if (name == "regularized") {
    // Clean labels, more data, dropout and weight decay, fewer epochs.
    c.train_size = 8000;
    c.label_noise = 0.0;
    c.dropout = 0.5;
    c.weight_decay = 0.05;
    c.lr = 5e-4;
    c.epochs = 15;
  } else {
    throw std::invalid_argument("unknown preset '" + name + "' (overfit, regularized)");
  }
}

config parse(const std::vector<std::string>& args) {
  config c;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
      return args[++i];
    };
    // Whole numbers and numbers as the library reads settings: "12abc" is an error.
    const auto count = [&]() {
      return static_cast<std::int64_t>(fitwatch::parse_count(next(), a));
    };
    const auto number = [&]() { return fitwatch::parse_number(next(), a); };
    if (a == "--preset") {
      apply_preset(c, next());
    } else if (a == "--train-size") {
      c.train_size = count();
    } else if (a == "--val-size") {
      c.val_size = count();
    } else if (a == "--test-size") {
      c.test_size = count();
    } else if (a == "--epochs") {
      c.epochs = static_cast<int>(count());
    } else if (a == "--width") {
      c.width = count();
    } else if (a == "--lr") {
      c.lr = number();
    } else if (a == "--weight-decay") {
      c.weight_decay = number();
    } else if (a == "--dropout") {
      c.dropout = number();
    } else if (a == "--label-noise") {
      c.label_noise = number();
    } else if (a == "--batch-size") {
      c.batch_size = count();
    } else if (a == "--seed") {
      c.seed = static_cast<std::uint64_t>(count());
    } else if (a == "--threads") {
      c.threads = static_cast<int>(count());
    } else if (a == "--no-stop") {
      c.stop = false;
    } else if (a == "--log-steps") {
      c.log_steps = true;
    } else if (a == "--no-emf") {
      c.emf = false;
    } else if (a == "--no-fitwatch") {
      c.use_fitwatch = false;
    } else if (a == "--epoch-seconds") {
      c.epoch_seconds = static_cast<int>(count());
    } else if (a == "--curves") {
      c.curves = next();
    } else if (a == "--job-name") {
      c.job_name = next();
    } else if (a == "--data-dir") {
      c.data_dir = next();
    } else if (a == "--checkpoint-dir") {
      c.checkpoint_dir = next();
    } else if (a == "--model-dir") {
      c.model_dir = next();
    } else if (a == "--sagemaker") {
      c.sagemaker = true;
    } else if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown option " + a);
    }
  }
  if (c.train_size <= 0 || c.val_size <= 0 || c.test_size <= 0 || c.epochs <= 0 || c.width <= 0 ||
      c.batch_size <= 0 || c.epochs > 1000000 || c.label_noise < 0 || c.label_noise > 1 ||
      c.dropout < 0 || c.dropout >= 1) {
    throw std::invalid_argument("an option is out of range (see --help)");
  }
  return c;
}

// IDX (http://yann.lecun.com/exdb/mnist/): big-endian magic, dimensions, bytes.
std::vector<std::uint8_t> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path);
  std::vector<std::uint8_t> out;
  std::uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  gzclose(f);
  if (n < 0) throw std::runtime_error("cannot read " + path);
  return out;
}

std::uint32_t be32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return (std::uint32_t{b.at(at)} << 24) | (std::uint32_t{b.at(at + 1)} << 16) |
         (std::uint32_t{b.at(at + 2)} << 8) | std::uint32_t{b.at(at + 3)};
}

torch::Tensor read_images(const std::string& path) {
  const auto b = read_gz(path);
  if (be32(b, 0) != 0x803) throw std::runtime_error(path + ": not an IDX image file");
  const auto n = be32(b, 4), rows = be32(b, 8), cols = be32(b, 12);
  if (b.size() != 16 + std::size_t{n} * rows * cols) throw std::runtime_error(path + ": truncated");
  auto t = torch::from_blob(const_cast<std::uint8_t*>(b.data()) + 16,
                            {static_cast<std::int64_t>(n), static_cast<std::int64_t>(rows * cols)},
                            torch::kUInt8);
  // Scale to [0, 1], then standardise with the Fashion-MNIST mean and std.
  return (t.to(torch::kFloat32).div(255.0) - 0.2860) / 0.3530;
}

torch::Tensor read_labels(const std::string& path) {
  const auto b = read_gz(path);
  if (be32(b, 0) != 0x801) throw std::runtime_error(path + ": not an IDX label file");
  const auto n = be32(b, 4);
  if (b.size() != 8 + std::size_t{n}) throw std::runtime_error(path + ": truncated");
  return torch::from_blob(const_cast<std::uint8_t*>(b.data()) + 8, {static_cast<std::int64_t>(n)},
                          torch::kUInt8)
      .to(torch::kInt64);
}

struct mlp : torch::nn::Module {
  mlp(std::int64_t width, double dropout)
      : fc1(register_module("fc1", torch::nn::Linear(784, width))),
        fc2(register_module("fc2", torch::nn::Linear(width, width))),
        out(register_module("out", torch::nn::Linear(width, 10))),
        drop(register_module("drop", torch::nn::Dropout(dropout))) {}
  torch::Tensor forward(torch::Tensor x) {
    x = drop(torch::relu(fc1(x)));
    x = drop(torch::relu(fc2(x)));
    return out(x);
  }
  torch::nn::Linear fc1, fc2, out;
  torch::nn::Dropout drop;
};

struct split {
  torch::Tensor x, y;
};

// Loss (a scalar tensor) and accuracy of the model on a split, no gradients.
std::pair<torch::Tensor, double> evaluate(mlp& model, const split& s) {
  torch::NoGradGuard no_grad;
  model.eval();
  const auto logits = model.forward(s.x);
  const auto loss = torch::nn::functional::cross_entropy(logits, s.y);
  const double acc = logits.argmax(1).eq(s.y).to(torch::kFloat64).mean().item<double>();
  model.train();
  return {loss, acc};
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// Writes `text` to `path` through a new file in the same folder, renamed
// over it: a symlink planted at `path` is replaced, never followed, and a
// reader never sees half a file. An empty string, or why it failed.
std::string replace_file(const std::string& path, const std::string& text) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  std::string temp = (parent / ".failure.XXXXXX").string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return std::strerror(errno);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const int write_errno = errno;
  const bool written = done == text.size() && ::fchmod(fd, 0644) == 0;
  ::close(fd);
  if (!written || std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(written ? errno : write_errno);
    ::unlink(temp.c_str());
    return why;
  }
  return {};
}

// The reason on stderr and, under SageMaker, in the failure file. If
// SM_OUTPUT_DIR cannot take it, /opt/ml/output/failure (the path SageMaker
// reads, when it exists) is tried; if neither can, stderr says so.
void fail(const std::string& failure_file, const std::string& reason) {
  std::fprintf(stderr, "train_fashion_mnist: %s\n", reason.c_str());
  if (failure_file.empty()) return;
  const std::string standard = "/opt/ml/output/failure";
  std::string why = replace_file(failure_file, reason + '\n');
  if (!why.empty() && failure_file != standard &&
      std::filesystem::is_directory(std::filesystem::path(standard).parent_path())) {
    if (replace_file(standard, reason + '\n').empty()) return;
  }
  if (!why.empty()) {
    std::fprintf(stderr,
                 "train_fashion_mnist: cannot write the failure file %s: %s (the job's "
                 "FailureReason will not give the reason above)\n",
                 failure_file.c_str(), why.c_str());
  }
}

void write_file(const std::string& path, const std::string& text) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// SageMaker's hyperparameters -> the options above ("train_size" is
// --train-size; a boolean option is given by "True"/"true"), the fitwatch_*
// ones -> fitwatch's settings. Command-line options come after them and win.
config sagemaker_config(const std::vector<std::string>& args, fitwatch::settings& fw) try {
  const std::string file = fitwatch::sagemaker_config_dir() + "/hyperparameters.json";
  std::vector<std::string> options;
  if (std::filesystem::exists(file)) {
    const auto hyperparameters = fitwatch::read_hyperparameters(file);
    fitwatch::apply_hyperparameters(fw, hyperparameters);
    const auto flag = [](std::string key) {
      for (auto& ch : key) ch = ch == '_' ? '-' : ch;
      return "--" + key;
    };
    // A preset sets every option: it comes first, the others refine it.
    if (const auto it = hyperparameters.find("preset"); it != hyperparameters.end()) {
      options = {"--preset", fitwatch::hyperparameter_value(it->second, it->first)};
    }
    for (const auto& [key, raw] : hyperparameters) {
      // The SDK's own (sagemaker_program, ...) and fitwatch's are not options.
      if (key == "preset" || key.rfind("sagemaker_", 0) == 0 ||
          !fitwatch::setting_name_of_hyperparameter(key).empty()) {
        continue;
      }
      const auto value = fitwatch::hyperparameter_value(raw, key);
      if (key == "no_stop" || key == "log_steps" || key == "no_emf" || key == "no_fitwatch") {
        if (fitwatch::parse_boolean(value, key)) options.push_back(flag(key));
      } else if (key == "help" || key == "sagemaker" || key == "h") {
        throw std::invalid_argument("unknown hyperparameter " + key);
      } else {
        options.push_back(flag(key));
        options.push_back(value);
      }
    }
  }
  options.insert(options.end(), args.begin(), args.end());
  config c = parse(options);
  if (c.model_dir.empty()) c.model_dir = env_or("SM_MODEL_DIR", "/opt/ml/model");
  if (c.curves.empty()) c.curves = c.model_dir + "/curves.csv";
  // The training channel, unless the data folder was given.
  const std::string channel = env_or("SM_CHANNEL_TRAINING", "/opt/ml/input/data/training");
  if (c.data_dir == config{}.data_dir && std::filesystem::is_directory(channel)) {
    c.data_dir = channel;
  }
  if (c.checkpoint_dir.empty() && std::filesystem::is_directory("/opt/ml/checkpoints")) {
    c.checkpoint_dir = "/opt/ml/checkpoints";
  }
  return c;
} catch (const std::invalid_argument& e) {
  // One prefix for every reason in the failure file.
  std::string why = e.what();
  if (why.rfind("fitwatch: ", 0) == 0) why.erase(0, std::string("fitwatch: ").size());
  throw std::invalid_argument("hyperparameters: " + why);
}

// A checkpoint: the model, the optimizer, fitwatch's state, the random
// generator and the curves so far, written to a temporary file and renamed
// so that an interruption never leaves half a checkpoint.
void save_checkpoint(const std::string& path, int epoch, mlp& model,
                     torch::optim::Optimizer& optimizer, const fitwatch::torch_monitor& monitor,
                     const std::string& curves) {
  torch::serialize::OutputArchive archive, m, o;
  model.save(m);
  optimizer.save(o);
  archive.write("model", m);
  archive.write("optimizer", o);
  monitor.save_state(archive);
  archive.write("epoch", c10::IValue(std::int64_t{epoch}));
  archive.write("curves", c10::IValue(curves));
  {
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle
    const std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("rng", generator.get_state());
  }
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  archive.save_to(path + ".tmp");
  std::filesystem::rename(path + ".tmp", path);
}

// Loads a checkpoint; returns the epoch it was saved after.
int resume(const std::string& path, mlp& model, torch::optim::Optimizer& optimizer,
           fitwatch::torch_monitor& monitor, std::string& curves) {
  torch::serialize::InputArchive archive, m, o;
  archive.load_from(path);
  c10::IValue epoch, saved_curves;
  torch::Tensor rng;
  if (!archive.try_read("model", m) || !archive.try_read("optimizer", o) ||
      !archive.try_read("epoch", epoch) || !epoch.isInt() ||
      !archive.try_read("curves", saved_curves) || !saved_curves.isString() ||
      !archive.try_read("rng", rng)) {
    throw std::runtime_error("checkpoint " + path + " is not one of this example");
  }
  model.load(m);
  optimizer.load(o);
  monitor.restore_state(archive);
  {
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle
    const std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng);
  }
  curves = saved_curves.toStringRef();
  return static_cast<int>(epoch.toInt());
}

}  // namespace

int train(const std::vector<std::string>& args);

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool sagemaker = std::find(args.begin(), args.end(), "--sagemaker") != args.end();
  // SageMaker turns the failure file into the job's FailureReason.
  const std::string failure =
      sagemaker ? env_or("SM_OUTPUT_DIR", "/opt/ml/output") + "/failure" : std::string();
  try {
    return train(args);
  } catch (const std::invalid_argument& e) {  // options, hyperparameters, settings
    fail(failure, e.what());
    std::fputs(usage, stderr);
    return 2;
  } catch (const std::exception& e) {  // data, files, libtorch
    fail(failure, e.what());
    return 1;
  }
}

int train(const std::vector<std::string>& args) {
  fitwatch::settings fw = fitwatch::read_settings();  // FITWATCH_* variables
  config c = parse(args);
  if (c.sagemaker) c = sagemaker_config(args, fw);
  const auto rank = fitwatch::read_process_rank();
  // Only global rank 0 writes files (every rank of a host shares /opt/ml/model).
  const bool writes_files = rank.rank == 0;
  torch::manual_seed(c.seed);
  if (c.threads > 0) torch::set_num_threads(c.threads);

  // Data: validation held out from the training files, test from t10k.
  split train, val, test;
  {
    const auto images = read_images(c.data_dir + "/train-images-idx3-ubyte.gz");
    const auto labels = read_labels(c.data_dir + "/train-labels-idx1-ubyte.gz");
    const auto perm = torch::randperm(images.size(0), torch::kInt64);
    if (c.train_size + c.val_size > images.size(0)) {
      throw std::invalid_argument("--train-size + --val-size exceed the training files");
    }
    const auto vi = perm.slice(0, 0, c.val_size);
    const auto ti = perm.slice(0, c.val_size, c.val_size + c.train_size);
    val = {images.index_select(0, vi), labels.index_select(0, vi)};
    train = {images.index_select(0, ti), labels.index_select(0, ti).clone()};
    const auto timages = read_images(c.data_dir + "/t10k-images-idx3-ubyte.gz");
    const auto tlabels = read_labels(c.data_dir + "/t10k-labels-idx1-ubyte.gz");
    const auto n = std::min<std::int64_t>(c.test_size, timages.size(0));
    test = {timages.slice(0, 0, n), tlabels.slice(0, 0, n)};
  }
  // Label noise: a seeded fraction of training labels moved to another class.
  if (c.label_noise > 0) {
    std::mt19937_64 rng(c.seed);
    std::uniform_real_distribution<double> u(0, 1);
    std::uniform_int_distribution<std::int64_t> shift(1, 9);
    auto y = train.y.accessor<std::int64_t, 1>();
    for (std::int64_t i = 0; i < y.size(0); ++i) {
      if (u(rng) < c.label_noise) y[i] = (y[i] + shift(rng)) % 10;
    }
  }

  mlp model(c.width, c.dropout);
  torch::optim::AdamW optimizer(model.parameters(),
                                torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));

  if (fw.job_name.empty()) fw.job_name = c.job_name;
  fitwatch::logger_options options = fw.logger_options_for(rank);
  if (!c.emf && fw.writes_metrics(rank)) {
    options.output = std::make_shared<fitwatch::ostream_sink>(std::cerr);
  }
  fitwatch::logger log{options};
  const auto hyper = log.property("Hyperparameters");
  log.set(hyper,
          "train_size=" + std::to_string(c.train_size) + " width=" + std::to_string(c.width) +
              " lr=" + std::to_string(c.lr) + " weight_decay=" + std::to_string(c.weight_decay) +
              " dropout=" + std::to_string(c.dropout) +
              " label_noise=" + std::to_string(c.label_noise) + " seed=" + std::to_string(c.seed));
  const auto test_loss_property = log.property("TestLoss");  // a property: never a detector input
  const auto step_loss = log.metric("TrainStepLoss", fitwatch::unit::none);
  fitwatch::torch_monitor monitor{log, model, fw.detector};

  std::string curves = "epoch,train_loss,val_loss,test_loss,train_acc,val_acc,test_acc\n";
  const std::string checkpoint =
      c.checkpoint_dir.empty() ? std::string() : c.checkpoint_dir + "/fitwatch-resume.pt";
  int first_epoch = 1;
  if (!checkpoint.empty() && std::filesystem::exists(checkpoint)) {
    first_epoch = resume(checkpoint, model, optimizer, monitor, curves) + 1;
    std::fprintf(stderr, "resumed from %s after epoch %d\n", checkpoint.c_str(), first_epoch - 1);
  }
  std::fprintf(stderr, "train %lld (label noise %.2f), validation %lld, test %lld; width %lld\n",
               static_cast<long long>(train.x.size(0)), c.label_noise,
               static_cast<long long>(val.x.size(0)), static_cast<long long>(test.x.size(0)),
               static_cast<long long>(c.width));
  const auto started = std::chrono::steady_clock::now();
  const std::int64_t start_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
  const std::int64_t n = train.x.size(0);
  int stopped_at = 0;
  std::chrono::steady_clock::duration
      fitwatch_time{};                              // observe(): detector, EMF line, best weights
  std::chrono::steady_clock::duration step_time{};  // --log-steps: .item(), put, flush
  const bool stopped_before = monitor.should_stop() && c.stop;  // resumed after the stop
  for (int epoch = first_epoch; epoch <= c.epochs && !stopped_before; ++epoch) {
    model.train();
    const auto order = torch::randperm(n, torch::kInt64);
    auto loss_sum = torch::zeros({}, torch::kFloat64);
    auto correct = torch::zeros({}, torch::kInt64);
    for (std::int64_t at = 0; at < n; at += c.batch_size) {
      const auto idx = order.slice(0, at, std::min(at + c.batch_size, n));
      const auto x = train.x.index_select(0, idx);
      const auto y = train.y.index_select(0, idx);
      optimizer.zero_grad();
      const auto logits = model.forward(x);
      const auto loss = torch::nn::functional::cross_entropy(logits, y);
      loss.backward();
      optimizer.step();
      // Accumulate on the tensor side: no .item() (host sync) per step.
      loss_sum += loss.detach().to(torch::kFloat64) * idx.size(0);
      correct += logits.argmax(1).eq(y).sum();
      if (c.log_steps) {
        const auto t0 = std::chrono::steady_clock::now();
        log.put(step_loss, loss.item<double>());
        log.flush();
        step_time += std::chrono::steady_clock::now() - t0;
      }
    }
    const auto train_loss = loss_sum / static_cast<double>(n);
    const double train_acc = correct.item<double>() / static_cast<double>(n);
    const auto [val_loss, val_acc] = evaluate(model, val);
    const auto [test_loss, test_acc] = evaluate(model, test);
    if (!c.use_fitwatch) {  // the same training and evaluation, no monitor
      std::fprintf(stderr, "epoch %2d  train %.4f  val %.4f  test %.4f\n", epoch,
                   train_loss.item<double>(), val_loss.item<double>(), test_loss.item<double>());
      continue;
    }
    log.set(test_loss_property, fitwatch::scalar(test_loss));
    std::optional<std::int64_t> stamp;
    if (c.epoch_seconds > 0) stamp = start_ms + std::int64_t{epoch} * c.epoch_seconds * 1000;
    const auto t0 = std::chrono::steady_clock::now();
    const auto& s = monitor.observe(epoch, train_loss, val_loss, train_acc, val_acc, stamp);
    fitwatch_time += std::chrono::steady_clock::now() - t0;
    std::fprintf(stderr,
                 "epoch %2d  train %.4f  val %.4f  test %.4f  acc %.3f/%.3f  gap %+.4f  "
                 "GL %5.1f%%  streak %zu  since-best %zu%s\n",
                 epoch, fitwatch::scalar(train_loss), fitwatch::scalar(val_loss),
                 fitwatch::scalar(test_loss), train_acc, val_acc, s.gap, s.generalization_loss,
                 s.rise_streak, s.since_best, s.overfitting ? "  OVERFITTING" : "");
    std::ostringstream row;
    row.precision(17);  // exact doubles, so replays see what the detector saw
    row << epoch << ',' << fitwatch::scalar(train_loss) << ',' << fitwatch::scalar(val_loss) << ','
        << fitwatch::scalar(test_loss) << ',' << train_acc << ',' << val_acc << ',' << test_acc
        << '\n';
    curves += row.str();
    if (writes_files && !c.curves.empty()) write_file(c.curves, curves);
    if (writes_files && !checkpoint.empty()) {
      save_checkpoint(checkpoint, epoch, model, optimizer, monitor, curves);
    }
    if (monitor.should_stop() && c.stop) {
      stopped_at = epoch;
      break;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto& s = monitor.get_detector().current();
  if (stopped_at > 0) {
    std::fprintf(stderr, "stopped at epoch %d: %s; weights of epoch %lld restored%s\n", stopped_at,
                 s.reason.c_str(), static_cast<long long>(monitor.best_epoch()),
                 monitor.restored() ? "" : " (restore failed)");
  } else {
    std::fprintf(stderr, "finished; %s\n",
                 s.overfitting ? ("overfitting: " + s.reason).c_str() : "no overfitting detected");
  }
  if (writes_files && !c.model_dir.empty() && c.use_fitwatch) {
    monitor.restore_best();  // the best weights, also when training went on (--no-stop)
    torch::serialize::OutputArchive archive;
    model.save(archive);
    std::filesystem::create_directories(c.model_dir);
    archive.save_to(c.model_dir + "/model.pt");
    std::fprintf(stderr, "weights of epoch %lld saved to %s/model.pt\n",
                 static_cast<long long>(monitor.best_epoch()), c.model_dir.c_str());
  }
  const double in_observe = std::chrono::duration<double>(fitwatch_time).count();
  const double in_steps = std::chrono::duration<double>(step_time).count();
  std::fprintf(stderr,
               "training took %.1f s; fitwatch: %.3f ms in per-epoch observe() (with best-weight "
               "copies), %.3f ms in per-step logging (%.4f %%)\n",
               seconds, 1000 * in_observe, 1000 * in_steps, 100 * in_steps / seconds);
  return 0;
}

// gamegen_cli: list models and generate content through the C++ client.
//
//   gamegen_cli [--server HOST:PORT] [--keepalive-ms N] models [KIND]
//   gamegen_cli [--server HOST:PORT] [--keepalive-ms N] generate MODEL [--seed N] [--set NAME=VALUE]... [--format F]...
//               [--out DIR] [--timeout SECONDS] [--no-partials] [--cancel-after N] [--quiet]
//               [--repeat N] [--timings] [--no-list] [--paced]
//
// One line per streamed event on stdout ("level_chunk x=0 ...", "asset name=level.tmj ..."); assets
// are written to --out. --cancel-after N cancels the call from a second thread once N events have
// arrived. --timings prints one JSON line per run (time to first event, end to end, bytes).
// --set names are checked against the model's parameters from ListModels first (one extra call);
// --no-list skips that and leaves all checking to the server. --paced waits for a line on stdin
// before each run (benchmarks/clients.py uses it to take turns with other clients).
// --keepalive-ms pings the server while a call is open, so a server that stops answering without
// closing the connection ends the call with UNAVAILABLE.
//
//   gamegen_cli [--server HOST:PORT] [--keepalive-ms N] session MODEL [--seed N] [--open JSON]
//               [--agent ID:ARCHETYPE[:AGGRESSION[:CAUTION]]]... [--mode argmax|sample] [--persona NAME]
//               [--ticks N] [--cancel-after N] [--leave-after N] [--timeout SECONDS]
//
// `session` opens a Session and sends one input per line of stdin, waiting for each input's end:
// an NPC scene takes each line as an NpcTick in protobuf's JSON mapping ({"observations": [...]});
// a dialog takes each line as the player's words. --open is the kind's open message as JSON
// (NpcOpen, DialogOpen); --agent, --mode (NPC) and --persona (dialog) add to it. --ticks N sends
// N ticks: the lines in order, the last one repeated, or, with no line, a tick observing each
// --agent by id only. One line per event ("action input=1 agent=orc-1 action=3 name=n dx=..",
// "delta input=1 text=..", "reply input=1 ..", "end input=1 reason=eos tokens=12",
// "error input=2 code=NOT_FOUND message=..": that input failed, the session goes on); at the end
// of stdin the session is closed ("closed" once the server has ended the stream with OK), and a
// status that ended it early is the exit status. --cancel-after N cancels the first input from a
// second thread once N of its events have arrived (Session::Cancel while this thread reads);
// --leave-after N destroys the Session once N have arrived, the input still running, prints
// "left" and waits for the end of stdin before exiting. --quiet drops the event lines; --timings
// prints {"inputs": N, "input_ms": [...]} at the end: each input's Send to its end, in ms.
// Exit status: 0 on success, else the gRPC status code of the failure (1 CANCELLED,
// 3 INVALID_ARGUMENT, 4 DEADLINE_EXCEEDED, 5 NOT_FOUND, 14 UNAVAILABLE ...); 64 for a bad command
// line, 74 when an asset cannot be written. Errors go to stderr as "error: CODE: message".
#include <gamegen/client.h>
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kUsage = 64;
constexpr int kIoError = 74;

const char* kUsageText =
    "usage: gamegen_cli [--server HOST:PORT] [--keepalive-ms N] models [KIND]\n"
    "       gamegen_cli [--server HOST:PORT] [--keepalive-ms N] generate MODEL [--seed N] [--set NAME=VALUE]...\n"
    "                   [--format F]... [--out DIR] [--timeout SECONDS] [--no-partials]\n"
    "                   [--cancel-after N] [--quiet] [--repeat N] [--timings] [--no-list] [--paced]\n"
    "       gamegen_cli [--server HOST:PORT] [--keepalive-ms N] session MODEL [--seed N] [--open JSON]\n"
    "                   [--agent ID:ARCHETYPE[:AGGRESSION[:CAUTION]]]... [--mode argmax|sample] [--persona NAME]\n"
    "                   [--ticks N] [--cancel-after N] [--leave-after N] [--timeout SECONDS]\n"
    "                   (inputs: one per line of stdin)\n";

struct UsageError {
  std::string message;
};

int Fail(const gamegen::Status& status) {
  std::cerr << "error: " << status.ToString() << std::endl;
  return static_cast<int>(status.code());
}

const char* TypeName(gamegen::ParameterType t) {
  switch (t) {
    case gamegen::v1::PARAMETER_TYPE_INT: return "int";
    case gamegen::v1::PARAMETER_TYPE_FLOAT: return "float";
    case gamegen::v1::PARAMETER_TYPE_BOOL: return "bool";
    case gamegen::v1::PARAMETER_TYPE_CHOICE: return "choice";
    case gamegen::v1::PARAMETER_TYPE_BYTES: return "bytes";
    default: return "?";
  }
}

int Models(gamegen::Client& client, const std::string& kind) {
  std::vector<gamegen::ModelInfo> models;
  gamegen::Status status = client.ListModels(kind, &models);
  if (!status.ok()) return Fail(status);
  for (const auto& m : models) {
    std::cout << m.kind() << "/" << m.name() << "@" << m.version() << " family=" << m.family()
              << " provider=" << m.execution_provider() << " formats=";
    for (int i = 0; i < m.output_formats_size(); ++i) std::cout << (i ? "," : "") << m.output_formats(i);
    std::cout << "\n";
    for (const auto& p : m.parameters()) {
      std::cout << "  " << p.name() << " " << TypeName(p.type());
      if (p.type() == gamegen::v1::PARAMETER_TYPE_INT || p.type() == gamegen::v1::PARAMETER_TYPE_FLOAT)
        std::cout << " [" << p.min() << ".." << p.max() << "]";
      if (p.choices_size()) {
        std::cout << " {";
        for (int i = 0; i < p.choices_size(); ++i) std::cout << (i ? "," : "") << p.choices(i);
        std::cout << "}";
      }
      std::cout << " default=" << p.default_value() << "\n";
    }
  }
  return 0;
}

void PrintEvent(const gamegen::Event& e) {
  using T = gamegen::Event::Type;
  switch (e.type()) {
    case T::kProgress: {
      char frac[16];
      std::snprintf(frac, sizeof frac, "%.3f", e.progress().fraction());
      std::cout << "progress " << frac << " " << e.progress().stage() << " " << e.progress().message() << "\n";
      break;
    }
    case T::kLevelChunk: {
      const auto& c = e.level_chunk();
      std::cout << "level_chunk x=" << c.x() << " y=" << c.y() << " width=" << c.width() << " height=" << c.height()
                << " level_width=" << c.level_width() << " level_height=" << c.level_height() << "\n";
      break;
    }
    case T::kMusicBar: {
      const auto& b = e.music_bar();
      std::cout << "music_bar index=" << b.index() << " total=" << b.total_bars() << " notes=" << b.notes_size()
                << "\n";
      break;
    }
    case T::kAsset: {
      const auto& a = e.asset();
      std::cout << "asset name=" << a.name() << " media_type=" << a.media_type() << " format=" << a.format()
                << " bytes=" << a.data().size() << " sha256=" << a.sha256() << "\n";
      break;
    }
    case T::kFinal: {
      const auto& f = e.final();
      std::cout << "final model=" << f.model() << " version=" << f.version() << " seed=" << f.seed()
                << " content_hash=" << f.content_hash() << " provider=" << f.execution_provider() << "\n";
      break;
    }
    case T::kUnknown:
      std::cout << "unknown\n";
      break;
  }
  std::cout.flush();  // a reader sees each event as it arrives
}

bool SafeName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos;
}

struct GenerateArgs {
  std::string model;
  uint64_t seed = 0;
  std::vector<std::pair<std::string, std::string>> sets;
  std::vector<std::string> formats;
  std::string out;
  double timeout_s = 0;
  bool partials = true;
  long cancel_after = -1;
  bool quiet = false;
  int repeat = 1;
  bool timings = false;
  bool list = true;
  bool paced = false;
};

// Cancels `token` from its own thread once `n` events have been counted.
class Canceller {
 public:
  Canceller(gamegen::CancelToken token, long n) : token_(std::move(token)), n_(n) {
    if (n_ >= 0) thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return seen_ >= n_ || stop_; });
      if (!stop_) token_.Cancel();
    });
  }
  ~Canceller() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void Saw() {
    if (n_ < 0) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++seen_;
    }
    cv_.notify_all();
  }

 private:
  gamegen::CancelToken token_;
  long n_;
  long seen_ = 0;
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

int Generate(gamegen::Client& client, const GenerateArgs& a) {
  gamegen::Request request(a.model, a.seed);
  request.Formats(a.formats).Partials(a.partials);
  if (!a.sets.empty() && !a.list) {
    try {
      for (const auto& kv : a.sets) request.Set(kv.first, kv.second);
    } catch (const gamegen::Error& e) {
      return Fail(e.status());
    }
  } else if (!a.sets.empty()) {
    // The model's parameter list drives --set: an unknown name fails here, listing the valid
    // ones. A model the server does not have is left for the server to report (NOT_FOUND).
    std::vector<gamegen::ModelInfo> models;
    gamegen::Status status = client.ListModels(request.kind(), &models);
    if (!status.ok()) return Fail(status);
    const gamegen::ModelInfo* info = nullptr;
    const std::string bare = a.model.substr(0, a.model.find('@'));
    const std::string version = a.model.find('@') == std::string::npos ? "" : a.model.substr(a.model.find('@') + 1);
    for (const auto& m : models)
      if (m.kind() + "/" + m.name() == bare && (version.empty() || m.version() == version)) info = &m;
    try {
      for (const auto& kv : a.sets) request.Set(kv.first, kv.second, info);
    } catch (const gamegen::Error& e) {
      return Fail(e.status());
    }
  }

  std::vector<gamegen::Asset> assets;
  for (int run = 0; run < a.repeat; ++run) {
    std::string go;
    if (a.paced && !std::getline(std::cin, go)) break;
    gamegen::CallOptions options;
    if (a.timeout_s > 0) options.timeout = std::chrono::milliseconds(static_cast<long long>(a.timeout_s * 1000));
    gamegen::CancelToken token;
    options.cancel = token;
    Canceller canceller(token, a.cancel_after);

    assets.clear();
    const auto start = std::chrono::steady_clock::now();
    double first_ms = -1;
    size_t events = 0, bytes = 0;
    auto call = client.Generate(request, options);
    gamegen::Event event;
    while (call->Next(&event)) {
      if (first_ms < 0)
        first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      ++events;
      bytes += event.proto().ByteSizeLong();
      if (!a.quiet) PrintEvent(event);
      if (event.type() == gamegen::Event::Type::kAsset) assets.push_back(event.asset());
      canceller.Saw();
    }
    const double end_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!call->status().ok()) return Fail(call->status());
    if (a.timings) {
      std::printf("{\"run\": %d, \"first_event_ms\": %.3f, \"end_ms\": %.3f, \"events\": %zu, \"message_bytes\": %zu}\n",
                  run, first_ms, end_ms, events, bytes);
      std::fflush(stdout);
    }
  }

  if (!a.out.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.out, ec);
    if (ec) {
      std::cerr << "error: cannot create output folder " << a.out << ": " << ec.message() << std::endl;
      return kIoError;
    }
    for (const auto& asset : assets) {
      if (!SafeName(asset.name())) {
        std::cerr << "error: refusing to write an asset named \"" << asset.name() << "\" (not a plain file name)"
                  << std::endl;
        return kIoError;
      }
      std::ofstream f(a.out + "/" + asset.name(), std::ios::binary);
      f.write(asset.data().data(), static_cast<std::streamsize>(asset.data().size()));
      if (!f) {
        std::cerr << "error: cannot write " << a.out << "/" << asset.name() << std::endl;
        return kIoError;
      }
    }
  }
  return 0;
}


struct SessionArgs {
  std::string open_json;
  std::vector<std::string> agents;  // ID:ARCHETYPE[:AGGRESSION[:CAUTION]]
  std::string mode;
  std::string persona;
  long ticks = -1;
  long leave_after = -1;
  bool quiet = false;    // no event lines
  bool timings = false;  // one JSON line at the end: each input's round trip in ms
};

// Cancels input `id` of `session` from its own thread when told to (Arm), as a game's UI thread
// would while the reading thread waits for events.
class InputCanceller {
 public:
  explicit InputCanceller(gamegen::Session* session) : session_(session) {
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (true) {
        cv_.wait(lock, [this] { return stop_ || armed_ != 0; });
        if (stop_) return;
        const uint64_t id = armed_;
        armed_ = 0;
        lock.unlock();
        session_->Cancel(id);
        lock.lock();
      }
    });
  }
  ~InputCanceller() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Arm(uint64_t id) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      armed_ = id;
    }
    cv_.notify_all();
  }

 private:
  gamegen::Session* session_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t armed_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

void PrintSessionEvent(const gamegen::SessionEvent& e) {
  using T = gamegen::SessionEvent::Type;
  const std::string input = " input=" + std::to_string(e.input_id());
  switch (e.type()) {
    case T::kNpcActions:
      for (const auto& a : e.npc_actions().actions()) {
        std::cout << "action" << input << " agent=" << a.agent_id() << " action=" << a.action() << " name=" << a.name()
                  << " dx=" << Num(a.direction().x()) << " dy=" << Num(a.direction().y());
        if (a.discrete_size()) {
          std::cout << " discrete=";
          for (int i = 0; i < a.discrete_size(); ++i) std::cout << (i ? "," : "") << a.discrete(i);
        }
        if (a.continuous_size()) {
          std::cout << " continuous=";
          for (int i = 0; i < a.continuous_size(); ++i) std::cout << (i ? "," : "") << Num(a.continuous(i));
        }
        std::cout << "\n";
      }
      if (e.npc_actions().has_block()) {   // a packed tick's answer: arrays in the block's agent order
        const auto& b = e.npc_actions().block();
        std::cout << "block" << input << " action=";
        for (int i = 0; i < b.action_size(); ++i) std::cout << (i ? "," : "") << b.action(i);
        std::cout << " direction=";
        for (int i = 0; i < b.direction_size(); ++i) std::cout << (i ? "," : "") << Num(b.direction(i));
        std::cout << "\n";
      }
      break;
    case T::kTextDelta: std::cout << "delta" << input << " text=" << e.text() << "\n"; break;
    case T::kDialogReply: {
      const auto& r = e.dialog_reply();
      std::cout << "reply" << input << " emotion=" << r.emotion() << " action=" << r.action() << " line=" << r.line()
                << "\n";
      break;
    }
    case T::kProgress: std::cout << "progress" << input << " fraction=" << Num(e.progress().fraction()) << "\n"; break;
    case T::kEnd:
      std::cout << "end" << input << " reason=" << e.end().stop_reason() << " tokens=" << e.end().tokens() << "\n";
      break;
    case T::kError: {
      const gamegen::Status st = e.status();
      std::cout << "error" << input << " code=" << gamegen::StatusCodeName(st.code()) << " message=" << st.message()
                << "\n";
      break;
    }
    case T::kClosed: std::cout << "closed reason=" << e.proto().closed().reason() << "\n"; break;
    case T::kOpened:
    case T::kUnknown: std::cout << "unknown" << input << "\n"; break;
  }
  std::cout.flush();
}

int RunSession(gamegen::Client& client, const std::string& model, uint64_t seed, const SessionArgs& a,
               double timeout_s, long cancel_after) {
  namespace pbu = google::protobuf::util;
  gamegen::OpenRequest open(model, seed);
  const std::string kind = model.substr(0, model.find('/'));
  if (kind != "npc" && kind != "dialog") {
    return Fail(gamegen::Status(gamegen::StatusCode::kInvalidArgument,
                                "model \"" + model + "\": this command holds sessions of kinds npc and dialog"));
  }
  google::protobuf::Message* open_msg = kind == "npc" ? static_cast<google::protobuf::Message*>(&open.npc())
                                                      : static_cast<google::protobuf::Message*>(&open.dialog());
  if (!a.open_json.empty()) {
    auto st = pbu::JsonStringToMessage(a.open_json, open_msg);
    if (!st.ok())
      return Fail(gamegen::Status(gamegen::StatusCode::kInvalidArgument,
                                  "--open: not a " + open_msg->GetDescriptor()->name() + " in JSON: " + st.ToString()));
  }
  if (!a.mode.empty()) open.npc().set_mode(a.mode);
  if (!a.persona.empty()) open.dialog().mutable_persona()->set_name(a.persona);
  for (const auto& spec : a.agents) {
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
      size_t colon = spec.find(':', start);
      parts.push_back(spec.substr(start, colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    if (parts.size() < 2 || parts.size() > 4 || parts[0].empty())
      throw UsageError{"--agent takes ID:ARCHETYPE[:AGGRESSION[:CAUTION]], got \"" + spec + "\""};
    gamegen::NpcAgent* agent = open.npc().add_agents();
    agent->set_agent_id(parts[0]);
    agent->set_archetype(parts[1]);
    for (size_t i = 2; i < parts.size(); ++i) {
      char* end = nullptr;
      double v = std::strtod(parts[i].c_str(), &end);
      if (parts[i].empty() || *end != '\0') throw UsageError{"--agent " + spec + ": \"" + parts[i] + "\" is not a number"};
      if (i == 2) agent->set_aggression(v);
      else agent->set_caution(v);
    }
  }

  gamegen::CallOptions options;
  if (timeout_s > 0) options.timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
  std::unique_ptr<gamegen::Session> session;
  gamegen::Status status = client.OpenSession(open, &session, options);
  if (!status.ok()) return Fail(status);
  const auto& o = session->opened();
  std::cout << "opened session=" << o.session_id() << " model=" << o.model() << " version=" << o.version()
            << " provider=" << o.execution_provider() << "\n";
  std::cout.flush();

  auto canceller = std::make_unique<InputCanceller>(session.get());
  bool left = false;
  auto run_input = [&](uint64_t id) -> bool {  // false when the session has ended
    if (id == 0) return false;
    if (kind == "npc") {  // the callback way: Await hands this input's events over, in order
      gamegen::SessionCallbacks callbacks;
      if (!a.quiet) callbacks.on_event = PrintSessionEvent;
      session->Await(id, callbacks);  // an input's error is printed by on_event; the session goes on
      return !session->done();
    }
    long seen = 0;  // the pull way: every event of the stream, in order
    gamegen::SessionEvent e;
    while (session->Next(&e)) {
      if (!a.quiet) PrintSessionEvent(e);
      if (e.input_id() == id && id == 1) {
        ++seen;
        if (seen == cancel_after) canceller->Arm(id);
        if (seen == a.leave_after) {
          left = true;  // the Session's destructor closes it, mid-input
          return false;
        }
      }
      if (e.ends(id)) return true;
    }
    return false;
  };

  std::string line, last;
  std::vector<double> input_ms;
  long sent = 0;
  bool alive = true;
  while (alive && (a.ticks < 0 || sent < a.ticks)) {
    bool have = static_cast<bool>(std::getline(std::cin, line));
    if (!have && (a.ticks < 0 || kind != "npc")) break;
    uint64_t id;
    const auto start = std::chrono::steady_clock::now();  // includes parsing the tick's JSON
    if (kind == "dialog") {
      gamegen::DialogTurn turn;
      turn.set_player_line(line);
      id = session->Send(turn);
    } else {
      gamegen::NpcTick tick;
      if (have) last = line;
      if (!last.empty()) {
        auto st = pbu::JsonStringToMessage(last, &tick);
        if (!st.ok()) {
          std::cerr << "error: tick " << sent + 1 << " is not an NpcTick in JSON: " << st.ToString() << std::endl;
          session->Close();
          return kUsage;
        }
      } else {
        for (const auto& agent : open.npc().agents()) tick.add_observations()->set_agent_id(agent.agent_id());
      }
      id = session->Send(tick);
    }
    ++sent;
    alive = run_input(id);
    input_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  if (left) {
    canceller.reset();
    session.reset();  // the destructor closes the session; this process and its channel go on
    std::cout << "left" << std::endl;
    while (std::getline(std::cin, line)) {
    }
    return 0;
  }
  if (alive) {
    // Close: the server stops what runs, frees the session and ends the stream with OK.
    gamegen::Status closed = session->Close();
    if (!closed.ok()) return Fail(closed);
    if (!a.quiet) std::cout << "closed\n";
    if (a.timings) {
      std::cout << "{\"inputs\": " << input_ms.size() << ", \"input_ms\": [";
      for (size_t i = 0; i < input_ms.size(); ++i) std::cout << (i ? ", " : "") << Num(input_ms[i]);
      std::cout << "]}" << std::endl;
    }
    return 0;
  }
  return Fail(session->status());
}

std::string Need(int& i, int argc, char** argv) {
  if (i + 1 >= argc) throw UsageError{std::string(argv[i]) + " needs a value"};
  return argv[++i];
}

long ToLong(const std::string& flag, const std::string& s) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < 0) throw UsageError{flag + " takes a non-negative integer, got \"" + s + "\""};
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string server = "127.0.0.1:50051";
  gamegen::ClientOptions client_options;
  std::vector<std::string> positional;
  GenerateArgs g;
  SessionArgs sa;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--server") server = Need(i, argc, argv);
      else if (arg == "--keepalive-ms") client_options.keepalive_ms = static_cast<int>(ToLong(arg, Need(i, argc, argv)));
      else if (arg == "--seed") {
        std::string s = Need(i, argc, argv);
        char* end = nullptr;
        g.seed = std::strtoull(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || s[0] == '-') throw UsageError{"--seed takes a non-negative integer, got \"" + s + "\""};
      } else if (arg == "--set") {
        std::string kv = Need(i, argc, argv);
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) throw UsageError{"--set takes NAME=VALUE, got \"" + kv + "\""};
        g.sets.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      } else if (arg == "--format" || arg == "-f") g.formats.push_back(Need(i, argc, argv));
      else if (arg == "--out") g.out = Need(i, argc, argv);
      else if (arg == "--timeout") {
        std::string s = Need(i, argc, argv);
        char* end = nullptr;
        g.timeout_s = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0' || g.timeout_s <= 0) throw UsageError{"--timeout takes seconds > 0, got \"" + s + "\""};
      } else if (arg == "--no-partials") g.partials = false;
      else if (arg == "--cancel-after") g.cancel_after = ToLong(arg, Need(i, argc, argv));
      else if (arg == "--quiet") g.quiet = true;
      else if (arg == "--repeat") g.repeat = static_cast<int>(ToLong(arg, Need(i, argc, argv)));
      else if (arg == "--timings") g.timings = true;
      else if (arg == "--no-list") g.list = false;
      else if (arg == "--paced") g.paced = true;
      else if (arg == "--open") sa.open_json = Need(i, argc, argv);
      else if (arg == "--agent") sa.agents.push_back(Need(i, argc, argv));
      else if (arg == "--mode") sa.mode = Need(i, argc, argv);
      else if (arg == "--persona") sa.persona = Need(i, argc, argv);
      else if (arg == "--ticks") sa.ticks = ToLong(arg, Need(i, argc, argv));
      else if (arg == "--leave-after") sa.leave_after = ToLong(arg, Need(i, argc, argv));
      else if (arg == "-h" || arg == "--help") {
        std::cout << kUsageText;
        return 0;
      } else if (!arg.empty() && arg[0] == '-') throw UsageError{"unknown option " + arg};
      else positional.push_back(arg);
    }
    if (positional.empty()) throw UsageError{"missing command (models, generate or session)"};
    gamegen::Client client(server, client_options);
    if (positional[0] == "models") {
      if (positional.size() > 2) throw UsageError{"models takes at most one KIND"};
      return Models(client, positional.size() == 2 ? positional[1] : "");
    }
    if (positional[0] == "generate") {
      if (positional.size() != 2) throw UsageError{"generate takes exactly one MODEL, e.g. levels/smb"};
      if (g.repeat < 1) throw UsageError{"--repeat must be at least 1"};
      g.model = positional[1];
      return Generate(client, g);
    }
    if (positional[0] == "session") {
      if (positional.size() != 2) throw UsageError{"session takes exactly one MODEL, e.g. npc/npc-mlp"};
      sa.quiet = g.quiet;
      sa.timings = g.timings;
      return RunSession(client, positional[1], g.seed, sa, g.timeout_s, g.cancel_after);
    }
    throw UsageError{"unknown command \"" + positional[0] + "\" (models, generate or session)"};
  } catch (const UsageError& e) {
    std::cerr << "error: " << e.message << "\n" << kUsageText;
    return kUsage;
  }
}

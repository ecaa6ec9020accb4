// gamegen C++ client: list the models a gamegen server has loaded and stream generated content.
//
//   gamegen::Client client("127.0.0.1:50051");
//   for (const gamegen::ModelInfo& m : client.ListModels("levels")) std::cout << m.name() << "\n";
//
//   gamegen::Request request("levels/smb", /*seed=*/7);
//   request.levels().set_width(300);            // typed parameters: the generated LevelParams
//   request.Set("enemies", "0.4");              // or by name, as ListModels reports them
//   request.Format("tmj").Format("png");
//
//   // Pull events (an iterator of typed events; throws gamegen::Error when the stream fails) ...
//   auto call = client.Generate(request);
//   for (const gamegen::Event& e : *call) {
//     if (e.type() == gamegen::Event::Type::kLevelChunk) Draw(e.level_chunk());
//     if (e.type() == gamegen::Event::Type::kAsset) Save(e.asset().name(), e.asset().data());
//   }
//
//   // ... or hand over callbacks (never throws: the result is a Status).
//   gamegen::Callbacks cb;
//   cb.on_music_bar = [](const gamegen::MusicBar& bar) { Schedule(bar); };
//   gamegen::Status status = client.Generate(request, cb);
//
// Errors carry the gRPC status code and the server's message: NOT_FOUND for an unknown model,
// INVALID_ARGUMENT for a bad parameter, UNAVAILABLE when the server is gone (before or during a
// stream), CANCELLED after Call::Cancel() or CancelToken::Cancel(), DEADLINE_EXCEEDED after
// CallOptions::timeout. A call never blocks past its deadline, its cancellation, or the
// connection's end.
//
// The wire messages are the ones generated from proto/gamegen/v1/gamegen.proto (namespace
// gamegen::v1); the aliases below give them short names. gRPC itself stays out of this header.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "gamegen/v1/gamegen.pb.h"

namespace grpc {
class Channel;
}

namespace gamegen {

// --- wire messages --------------------------------------------------------------------------
using ModelInfo = v1::ModelInfo;
using ParameterInfo = v1::ParameterInfo;
using ParameterType = v1::ParameterType;
using TileInfo = v1::TileInfo;
using LevelParams = v1::LevelParams;
using TerrainParams = v1::TerrainParams;
using TextureParams = v1::TextureParams;
using MusicParams = v1::MusicParams;
using Progress = v1::Progress;
using LevelChunk = v1::LevelChunk;
using MusicBar = v1::MusicBar;
using NoteEvent = v1::NoteEvent;
using Asset = v1::Asset;
using Final = v1::Final;
// Sessions (dialog conversations, NPC scenes)
using SessionOpened = v1::SessionOpened;
using InputEnd = v1::InputEnd;
using DialogOpen = v1::DialogOpen;
using DialogPersona = v1::DialogPersona;
using DialogSampling = v1::DialogSampling;
using DialogTurn = v1::DialogTurn;
using DialogReply = v1::DialogReply;
using NpcOpen = v1::NpcOpen;
using NpcAgent = v1::NpcAgent;
using NpcObservation = v1::NpcObservation;
using NpcTick = v1::NpcTick;
using NpcAction = v1::NpcAction;
using NpcActions = v1::NpcActions;
using Vec2 = v1::Vec2;

// --- status and errors ----------------------------------------------------------------------

// gRPC's status codes, with the same numbers.
enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "NOT_FOUND", "INVALID_ARGUMENT" ... as gRPC spells them.
const char* StatusCodeName(StatusCode code);
// The reverse ("NOT_FOUND" -> kNotFound); kUnknown for a name gRPC does not have.
StatusCode StatusCodeFromName(const std::string& name);

class Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }  // the server's message, verbatim
  std::string ToString() const;                             // "NOT_FOUND: no model ..."
  void ThrowIfError() const;                                // throws gamegen::Error unless ok()

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Thrown by the throwing calls (ListModels, iterating a Call, Request::Set).
class Error : public std::runtime_error {
 public:
  explicit Error(Status status);
  const Status& status() const { return status_; }
  StatusCode code() const { return status_.code(); }
  const std::string& message() const { return status_.message(); }

 private:
  Status status_;
};

// --- cancellation and deadlines -------------------------------------------------------------

// A cancellation handle that may be shared by several calls and fired from any thread.
// Copies share one state. Cancelling stops every call started with the token, now or later;
// the server sees the call cancelled and stops generating.
class CancelToken {
 public:
  CancelToken();
  void Cancel() const;
  bool cancelled() const;

  // Runs `fn` once when the token is cancelled (at once if it already is). Returns an id for
  // Unregister, which waits until a running `fn` has returned. Calls use this; so may engines.
  uint64_t Register(std::function<void()> fn) const;
  void Unregister(uint64_t id) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

struct CallOptions {
  // Relative deadline for the whole call (connection, generation, every event). Unset: none.
  std::optional<std::chrono::milliseconds> timeout;
  // Cancels the call when fired (from any thread).
  std::optional<CancelToken> cancel;
  // Wait for the server to come up instead of failing at once with UNAVAILABLE.
  bool wait_for_ready = false;
};

// --- requests -------------------------------------------------------------------------------

// A GenerateRequest with setters that read well. Parameters are typed through the generated
// message of the model's kind (levels(), terrain(), textures(), music()), or set by name from text
// with Set(), which is what a parameter form built from ListModels' ParameterInfo needs.
class Request {
 public:
  explicit Request(std::string model, uint64_t seed = 0);  // "levels/smb" or "levels/smb@1.0.0"

  Request& Seed(uint64_t seed);
  Request& Format(const std::string& format);  // adds one output format ("tmj", "png", "mid" ...)
  Request& Formats(const std::vector<std::string>& formats);  // replaces the list
  Request& Partials(bool on);  // stream partial content (default on)

  // The kind's typed parameters; calling one selects that kind's parameter message.
  LevelParams& levels() { return *proto_.mutable_levels(); }
  TerrainParams& terrain() { return *proto_.mutable_terrain(); }
  TextureParams& textures() { return *proto_.mutable_textures(); }
  MusicParams& music() { return *proto_.mutable_music(); }

  // Sets parameter `name` of the model's kind from text: integers and floats in decimal,
  // bools as true/false/1/0, choices as written, BYTES fields as "@path/to/file" (read now).
  // Throws Error(INVALID_ARGUMENT) naming the field, the value and what is allowed when the kind
  // has no such parameter or the text does not parse. With `model`, the name must also be one of
  // that model's parameters. Ranges and choices are checked by the server (one source of truth).
  Request& Set(const std::string& name, const std::string& value, const ModelInfo* model = nullptr);

  const std::string& model() const { return proto_.model(); }
  std::string kind() const;  // the part of model() before '/'
  const v1::GenerateRequest& proto() const { return proto_; }
  v1::GenerateRequest& proto() { return proto_; }

 private:
  v1::GenerateRequest proto_;
};

// --- events ---------------------------------------------------------------------------------

// One streamed event, typed. Events of a kind this client was built without (a newer server)
// arrive as kUnknown, with the wire message in proto().
class Event {
 public:
  enum class Type { kUnknown, kProgress, kLevelChunk, kMusicBar, kAsset, kFinal };

  Type type() const;
  bool is_last() const { return proto_.is_last(); }  // true on the final event only
  const Progress& progress() const { return proto_.progress(); }
  const LevelChunk& level_chunk() const { return proto_.partial().level_chunk(); }
  const MusicBar& music_bar() const { return proto_.partial().music_bar(); }
  const Asset& asset() const { return proto_.asset(); }
  const Final& final() const { return proto_.final(); }

  const v1::GenerateEvent& proto() const { return proto_; }
  v1::GenerateEvent& proto() { return proto_; }

 private:
  v1::GenerateEvent proto_;
};

const char* EventTypeName(Event::Type type);  // "progress", "level_chunk", ...

// Callbacks for Client::Generate, called on the calling thread in stream order. Unset ones are
// skipped. An exception thrown by a callback cancels the call and propagates.
struct Callbacks {
  std::function<void(const Progress&)> on_progress;
  std::function<void(const LevelChunk&)> on_level_chunk;
  std::function<void(const MusicBar&)> on_music_bar;
  std::function<void(const Asset&)> on_asset;
  std::function<void(const Final&)> on_final;
  std::function<void(const Event&)> on_event;  // every event, before the typed callback
};

// --- calls ----------------------------------------------------------------------------------

namespace detail {
struct CallState;  // gRPC context, deadline and cancellation shared by every streaming call
}

// A Generate stream in progress. Pull with Next() (never throws) or iterate (throws Error when
// the stream ends with an error). Destroying an unfinished call cancels it.
class Call {
 public:
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // Blocks for the next event. False at the end of the stream: then status() says how it ended
  // (OK after the final event).
  bool Next(Event* event);

  // Cancels the call; safe from any thread, any number of times. Next() then returns false and
  // status() is CANCELLED (unless the stream had already ended).
  void Cancel();

  // How the stream ended; OK until it has.
  const Status& status() const { return status_; }
  bool done() const { return done_; }

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Event;
    using difference_type = std::ptrdiff_t;
    using pointer = const Event*;
    using reference = const Event&;
    iterator() = default;
    explicit iterator(Call* call) : call_(call) { ++*this; }
    const Event& operator*() const { return event_; }
    const Event* operator->() const { return &event_; }
    iterator& operator++();  // throws Error when the stream ends with an error
    bool operator==(const iterator& o) const { return call_ == o.call_; }
    bool operator!=(const iterator& o) const { return call_ != o.call_; }

   private:
    Call* call_ = nullptr;
    Event event_;
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  friend class Client;
  explicit Call(std::unique_ptr<detail::CallState> state);
  void End(Status status);

  std::unique_ptr<detail::CallState> state_;
  Status status_;
  bool done_ = false;
};

// --- sessions -------------------------------------------------------------------------------

// A SessionOpen: the model (one ListModels reports with `sessions`), a seed, and the kind's open
// message, selected by calling its accessor: npc() (agents, mode) or dialog() (persona, sampling).
class OpenRequest {
 public:
  explicit OpenRequest(std::string model, uint64_t seed = 0);  // "npc/npc-mlp", "dialog/smollm2@1.0.0"

  OpenRequest& Seed(uint64_t seed);
  NpcOpen& npc() { return *proto_.mutable_npc(); }
  DialogOpen& dialog() { return *proto_.mutable_dialog(); }

  const std::string& model() const { return proto_.model(); }
  const v1::SessionOpen& proto() const { return proto_; }
  v1::SessionOpen& proto() { return proto_; }

 private:
  v1::SessionOpen proto_;
};

// One event of a session, typed. Every event an input causes carries its input_id(); an input's
// events end with exactly one kEnd or one kError. kError is that input's failure (status()), and
// the session goes on; an error with input_id() 0 is about a message that was not an input (the
// session goes on too). Events of a kind this client was built without arrive as kUnknown.
class SessionEvent {
 public:
  enum class Type { kUnknown, kOpened, kProgress, kTextDelta, kDialogReply, kNpcActions, kEnd, kError, kClosed };

  Type type() const;
  uint64_t input_id() const { return proto_.input_id(); }
  const Progress& progress() const { return proto_.progress(); }
  const std::string& text() const { return proto_.partial().text_delta().text(); }  // kTextDelta
  const DialogReply& dialog_reply() const { return proto_.dialog_reply(); }
  const NpcActions& npc_actions() const { return proto_.npc_actions(); }
  const InputEnd& end() const { return proto_.end(); }
  Status status() const;  // kError: the input's failure (code + the server's message); else OK
  bool is_last_of_input() const { return type() == Type::kEnd || type() == Type::kError; }
  // True when this event is the last one input `input_id` will have: its kEnd or kError, or a
  // kError with input_id() 0 (the server could not decode the message; that input never ran).
  bool ends(uint64_t input_id) const {
    return (input_id == this->input_id() && is_last_of_input()) || (type() == Type::kError && this->input_id() == 0);
  }

  const v1::SessionEvent& proto() const { return proto_; }
  v1::SessionEvent& proto() { return proto_; }

 private:
  v1::SessionEvent proto_;
};

const char* SessionEventTypeName(SessionEvent::Type type);  // "text_delta", "npc_actions", ...

// Callbacks for Session::Await, called on the calling thread in stream order; unset ones skipped.
struct SessionCallbacks {
  std::function<void(const std::string&)> on_text;       // a dialog text delta
  std::function<void(const DialogReply&)> on_dialog_reply;
  std::function<void(const NpcActions&)> on_npc_actions;
  std::function<void(const Progress&)> on_progress;
  std::function<void(const InputEnd&)> on_end;
  std::function<void(const SessionEvent&)> on_event;     // every event, before the typed callback
};

// An open Session stream: a conversation or a scene that lives on the server until Close().
//
//   auto s = client.OpenSession(open);                 // throws Error when the open is refused
//   uint64_t id = s->Send(tick);                       // returns at once with the input's id
//   gamegen::SessionEvent e;
//   while (s->Next(&e)) { ...; if (e.ends(id)) break; }
//
// or, blocking per input: `gamegen::NpcActions actions; Status st = s->Tick(tick, &actions);`.
//
// Inputs run one at a time on the server, in order; one sent while another runs gets a kError
// (FAILED_PRECONDITION). A stream that ends (the server's idle timeout: DEADLINE_EXCEEDED; the
// server gone: UNAVAILABLE; CallOptions::timeout or a cancel; Close()) makes Next() return false,
// Await/Tick/Say return that status, and status() keep it: calls never hang past the stream's end.
//
// Threading: one thread reads (Next/Await/Tick/Say); Send may be called from another; Cancel,
// Abort and the CancelToken are safe from any thread. Destroying an open session closes it
// (without waiting for the server's answer: call Close() to wait).
class Session {
 public:
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // What the server answered to `open`: session id, model, version, provider, parameters used.
  const SessionOpened& opened() const { return opened_; }
  const std::string& session_id() const { return opened_.session_id(); }

  // Sends one input and returns its id (1, 2, 3 ... in order). Does not wait for its events.
  // Returns 0 when the stream has already ended (then status() says why).
  uint64_t Send(const NpcTick& tick);
  uint64_t Send(const DialogTurn& turn);
  uint64_t Send(v1::SessionInput input);  // any kind's input; its input_id is set here

  // Blocks for the next event of the stream. False once the stream has ended: status() then says
  // how (OK after Close()).
  bool Next(SessionEvent* event);

  // Reads events until input `input_id`'s last one, handing them to `callbacks`. OK after its
  // kEnd (also when it was cancelled: end().stop_reason() == "cancelled"); its error when it
  // failed (the session goes on); the stream's status when the session ended first.
  Status Await(uint64_t input_id, const SessionCallbacks& callbacks = {});

  // Send + Await for the two kinds: one NPC tick (its actions), one dialog turn (the reply;
  // `on_text` sees the deltas as they are decoded).
  Status Tick(const NpcTick& tick, NpcActions* actions);
  Status Say(const std::string& player_line, DialogReply* reply,
             const std::function<void(const std::string&)>& on_text = nullptr);

  // Stops input `input_id` on the server (its events end with kEnd, stop_reason "cancelled");
  // ignored by the server when it is not running. Safe from any thread.
  void Cancel(uint64_t input_id);

  // Ends the session: the running input stops, the server frees the session and answers
  // `closed`. Events still in flight are read and dropped. Returns how the stream ended (OK, or
  // the error that ended it earlier). Safe to call more than once.
  Status Close();

  // Ends the stream at once from any thread (as CallOptions::cancel does): Next() returns false
  // and status() is CANCELLED.
  void Abort();

  const Status& status() const { return status_; }  // read it on the reading thread
  bool done() const { return done_; }

 private:
  friend class Client;
  struct Stream;
  explicit Session(std::unique_ptr<detail::CallState> state);
  void End(Status status);
  bool Write(const v1::SessionRequest& request);

  std::unique_ptr<detail::CallState> state_;
  std::unique_ptr<Stream> stream_;
  SessionOpened opened_;
  Status status_;                  // written by the reading thread before done_
  std::atomic<bool> done_{false};  // read by Send on another thread
  bool closed_sent_ = false;       // under the stream's write lock
  std::atomic<uint64_t> next_id_{0};
};

// --- the client -----------------------------------------------------------------------------

struct ClientOptions {
  // Mirror of the server's limits: assets come back in messages of up to 64 MiB.
  int max_receive_message_bytes = 64 * 1024 * 1024;
  int max_send_message_bytes = 16 * 1024 * 1024;
  // HTTP/2 keepalive pings while a call is open, to notice a server that stopped answering
  // without closing the connection (UNAVAILABLE after keepalive_ms plus a timeout of half of it,
  // at least 1 s). 0 = off: a closed connection is noticed without them, a hung one only by the
  // call's deadline. gRPC sends at most 2 pings between data frames, so a slow generation does
  // not trip a server's ping limit (checked against a 26 s texture stream at 1000 ms).
  int keepalive_ms = 0;
};

class Client {
 public:
  // An insecure (plaintext) channel to "host:port". Connects lazily, on the first call.
  explicit Client(const std::string& target, ClientOptions options = {});
  // Any channel: TLS, custom credentials or arguments.
  explicit Client(std::shared_ptr<grpc::Channel> channel);
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  // The loaded models ("levels", "terrain", "textures", "music"; empty = all kinds).
  std::vector<ModelInfo> ListModels(const std::string& kind = "", const CallOptions& options = {});
  Status ListModels(const std::string& kind, std::vector<ModelInfo>* models,
                    const CallOptions& options = {});

  // Starts a Generate stream; events are pulled from the returned call.
  std::unique_ptr<Call> Generate(const Request& request, const CallOptions& options = {});
  // Runs a Generate stream to its end on this thread, calling `callbacks` per event.
  Status Generate(const Request& request, const Callbacks& callbacks, const CallOptions& options = {});

  // Opens a Session (dialog, NPC behaviour) and waits for the server's `opened`. Throws Error:
  // NOT_FOUND (unknown model), FAILED_PRECONDITION (a model that holds no sessions),
  // INVALID_ARGUMENT (a bad open parameter), RESOURCE_EXHAUSTED (the server's --max-sessions),
  // UNAVAILABLE, DEADLINE_EXCEEDED. CallOptions apply to the whole session's life: `timeout` is a
  // deadline for all of it, `cancel` aborts it; ClientOptions::keepalive_ms notices a hung server.
  std::unique_ptr<Session> OpenSession(const OpenRequest& request, const CallOptions& options = {});
  // The same without exceptions: on success *session is set and the status is OK.
  Status OpenSession(const OpenRequest& request, std::unique_ptr<Session>* session,
                     const CallOptions& options = {});

  const std::shared_ptr<grpc::Channel>& channel() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gamegen

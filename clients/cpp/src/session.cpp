// gamegen::Session: the bidirectional Session stream (see gamegen/client.h).
#include <mutex>
#include <utility>

#include "call_state.h"

namespace gamegen {

// --- OpenRequest / SessionEvent -------------------------------------------------------------

OpenRequest::OpenRequest(std::string model, uint64_t seed) {
  proto_.set_model(std::move(model));
  proto_.set_seed(seed);
}

OpenRequest& OpenRequest::Seed(uint64_t seed) {
  proto_.set_seed(seed);
  return *this;
}

SessionEvent::Type SessionEvent::type() const {
  switch (proto_.event_case()) {
    case v1::SessionEvent::kOpened: return Type::kOpened;
    case v1::SessionEvent::kProgress: return Type::kProgress;
    case v1::SessionEvent::kPartial:
      return proto_.partial().content_case() == v1::PartialContent::kTextDelta ? Type::kTextDelta : Type::kUnknown;
    case v1::SessionEvent::kDialogReply: return Type::kDialogReply;
    case v1::SessionEvent::kNpcActions: return Type::kNpcActions;
    case v1::SessionEvent::kEnd: return Type::kEnd;
    case v1::SessionEvent::kError: return Type::kError;
    case v1::SessionEvent::kClosed: return Type::kClosed;
    default: return Type::kUnknown;
  }
}

Status SessionEvent::status() const {
  if (proto_.event_case() != v1::SessionEvent::kError) return Status();
  StatusCode code = StatusCodeFromName(proto_.error().code());
  if (code == StatusCode::kOk) code = StatusCode::kUnknown;  // an error is never OK
  return Status(code, proto_.error().message());
}

const char* SessionEventTypeName(SessionEvent::Type type) {
  switch (type) {
    case SessionEvent::Type::kOpened: return "opened";
    case SessionEvent::Type::kProgress: return "progress";
    case SessionEvent::Type::kTextDelta: return "text_delta";
    case SessionEvent::Type::kDialogReply: return "dialog_reply";
    case SessionEvent::Type::kNpcActions: return "npc_actions";
    case SessionEvent::Type::kEnd: return "end";
    case SessionEvent::Type::kError: return "error";
    case SessionEvent::Type::kClosed: return "closed";
    case SessionEvent::Type::kUnknown: break;
  }
  return "unknown";
}

// --- Session --------------------------------------------------------------------------------

struct Session::Stream {
  std::unique_ptr<grpc::ClientReaderWriter<v1::SessionRequest, v1::SessionEvent>> rw;
  std::mutex write_mu;       // gRPC allows one writer at a time; Send and Cancel may race
  bool writes_done = false;  // under write_mu
};

Session::Session(std::unique_ptr<detail::CallState> state)
    : state_(std::move(state)), stream_(std::make_unique<Stream>()) {}

Session::~Session() {
  if (done_ || !stream_->rw) return;
  // Close without waiting: `close` then the stream's cancellation; the server frees the session
  // on either, and Finish returns promptly once the call is cancelled.
  {
    std::lock_guard<std::mutex> lock(stream_->write_mu);
    if (!closed_sent_ && !stream_->writes_done) {
      v1::SessionRequest close;
      close.mutable_close();
      stream_->rw->Write(close);
    }
    stream_->writes_done = true;
  }
  state_->Cancel();
  stream_->rw->Finish();
}

bool Session::Write(const v1::SessionRequest& request) {
  std::lock_guard<std::mutex> lock(stream_->write_mu);
  if (stream_->writes_done) return false;
  return stream_->rw->Write(request);  // false once the stream is broken; Next() reports why
}

void Session::End(Status status) {
  status_ = std::move(status);
  done_ = true;
}

uint64_t Session::Send(v1::SessionInput input) {
  if (done_) return 0;
  const uint64_t id = ++next_id_;  // atomic: Send may run on two threads
  input.set_input_id(id);
  v1::SessionRequest request;
  *request.mutable_input() = std::move(input);
  Write(request);
  return id;
}

uint64_t Session::Send(const NpcTick& tick) {
  v1::SessionInput input;
  *input.mutable_npc() = tick;
  return Send(std::move(input));
}

uint64_t Session::Send(const DialogTurn& turn) {
  v1::SessionInput input;
  *input.mutable_dialog() = turn;
  return Send(std::move(input));
}

bool Session::Next(SessionEvent* event) {
  if (done_) return false;
  if (stream_->rw->Read(&event->proto())) return true;
  {
    std::lock_guard<std::mutex> lock(stream_->write_mu);
    stream_->writes_done = true;  // no writes after the stream's end (Finish closes the writing side)
  }
  Status status = state_->Map(stream_->rw->Finish());
  End(std::move(status));
  return false;
}

Status Session::Await(uint64_t input_id, const SessionCallbacks& callbacks) {
  if (input_id == 0) return done_ ? status_ : Status(StatusCode::kInvalidArgument, "input id 0 names no input");
  SessionEvent e;
  while (Next(&e)) {
    // ends(): an error without an input id is about a message the server could not take as an
    // input (it arrived undecodable, e.g. text that is not UTF-8): the input awaited never ran.
    if (e.input_id() != input_id && !e.ends(input_id)) continue;  // the tail of an earlier input
    if (callbacks.on_event) callbacks.on_event(e);
    switch (e.type()) {
      case SessionEvent::Type::kProgress:
        if (callbacks.on_progress) callbacks.on_progress(e.progress());
        break;
      case SessionEvent::Type::kTextDelta:
        if (callbacks.on_text) callbacks.on_text(e.text());
        break;
      case SessionEvent::Type::kDialogReply:
        if (callbacks.on_dialog_reply) callbacks.on_dialog_reply(e.dialog_reply());
        break;
      case SessionEvent::Type::kNpcActions:
        if (callbacks.on_npc_actions) callbacks.on_npc_actions(e.npc_actions());
        break;
      case SessionEvent::Type::kEnd:
        if (callbacks.on_end) callbacks.on_end(e.end());
        return Status();
      case SessionEvent::Type::kError:
        return e.status();
      default:
        break;
    }
  }
  if (status_.ok()) return Status(StatusCode::kFailedPrecondition, "the session was closed before input " +
                                                                      std::to_string(input_id) + " ended");
  return status_;
}

Status Session::Tick(const NpcTick& tick, NpcActions* actions) {
  const uint64_t id = Send(tick);
  if (id == 0) return status_;
  SessionCallbacks cb;
  cb.on_npc_actions = [actions](const NpcActions& a) {
    if (actions) *actions = a;
  };
  return Await(id, cb);
}

Status Session::Say(const std::string& player_line, DialogReply* reply,
                    const std::function<void(const std::string&)>& on_text) {
  DialogTurn turn;
  turn.set_player_line(player_line);
  const uint64_t id = Send(turn);
  if (id == 0) return status_;
  SessionCallbacks cb;
  cb.on_text = on_text;
  cb.on_dialog_reply = [reply](const DialogReply& r) {
    if (reply) *reply = r;
  };
  return Await(id, cb);
}

void Session::Cancel(uint64_t input_id) {
  v1::SessionRequest request;
  request.mutable_cancel()->set_input_id(input_id);
  Write(request);
}

Status Session::Close() {
  if (done_) return status_;
  {
    std::lock_guard<std::mutex> lock(stream_->write_mu);
    if (!closed_sent_ && !stream_->writes_done) {
      v1::SessionRequest close;
      close.mutable_close();
      stream_->rw->Write(close);
      stream_->rw->WritesDone();
      stream_->writes_done = true;
    }
    closed_sent_ = true;
  }
  SessionEvent e;
  while (Next(&e)) {
  }
  return status_;
}

void Session::Abort() { state_->Cancel(); }

// --- Client::OpenSession ------------------------------------------------------------------

Status Client::OpenSession(const OpenRequest& request, std::unique_ptr<Session>* session,
                           const CallOptions& options) {
  std::unique_ptr<Session> s(new Session(
      std::make_unique<detail::CallState>(impl_->channel, impl_->target, options)));
  s->stream_->rw = impl_->stub->Session(&s->state_->context);
  v1::SessionRequest open;
  *open.mutable_open() = request.proto();
  s->Write(open);  // a failure here shows in the read below
  SessionEvent e;
  if (!s->Next(&e)) return s->status();
  if (e.type() != SessionEvent::Type::kOpened) {
    return Status(StatusCode::kInternal, std::string("the server answered `open` with `") +
                                             SessionEventTypeName(e.type()) + "`, not `opened`");
  }
  s->opened_ = e.proto().opened();
  *session = std::move(s);
  return Status();
}

std::unique_ptr<Session> Client::OpenSession(const OpenRequest& request, const CallOptions& options) {
  std::unique_ptr<Session> session;
  OpenSession(request, &session, options).ThrowIfError();
  return session;
}

}  // namespace gamegen

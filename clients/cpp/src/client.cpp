// gamegen C++ client: channel, calls, cancellation and status mapping (see gamegen/client.h).
#include "gamegen/client.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <utility>

#include "call_state.h"
#include "gamegen/v1/gamegen.grpc.pb.h"

namespace gamegen {

// --- Status / Error -------------------------------------------------------------------------

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "CANCELLED";
    case StatusCode::kUnknown: return "UNKNOWN";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kAborted: return "ABORTED";
    case StatusCode::kOutOfRange: return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kDataLoss: return "DATA_LOSS";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

StatusCode StatusCodeFromName(const std::string& name) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kUnauthenticated); ++c)
    if (name == StatusCodeName(static_cast<StatusCode>(c))) return static_cast<StatusCode>(c);
  return StatusCode::kUnknown;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

void Status::ThrowIfError() const {
  if (!ok()) throw Error(*this);
}

Error::Error(Status status) : std::runtime_error(status.ToString()), status_(std::move(status)) {}

// --- CancelToken ----------------------------------------------------------------------------

struct CancelToken::State {
  std::mutex mu;
  std::condition_variable idle;
  bool cancelled = false;
  bool firing = false;
  uint64_t next_id = 1;
  std::map<uint64_t, std::function<void()>> fns;
};

CancelToken::CancelToken() : state_(std::make_shared<State>()) {}

void CancelToken::Cancel() const {
  std::map<uint64_t, std::function<void()>> fns;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->cancelled) return;
    state_->cancelled = true;
    state_->firing = true;
    fns.swap(state_->fns);
  }
  for (auto& kv : fns) kv.second();
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->firing = false;
  }
  state_->idle.notify_all();
}

bool CancelToken::cancelled() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->cancelled;
}

uint64_t CancelToken::Register(std::function<void()> fn) const {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->cancelled) {
      uint64_t id = state_->next_id++;
      state_->fns.emplace(id, std::move(fn));
      return id;
    }
  }
  fn();
  return 0;
}

void CancelToken::Unregister(uint64_t id) const {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->fns.erase(id);
  // A Cancel() running on another thread may be inside this registration's function right now.
  state_->idle.wait(lock, [this] { return !state_->firing; });
}

// --- Event ----------------------------------------------------------------------------------

Event::Type Event::type() const {
  switch (proto_.event_case()) {
    case v1::GenerateEvent::kProgress: return Type::kProgress;
    case v1::GenerateEvent::kAsset: return Type::kAsset;
    case v1::GenerateEvent::kFinal: return Type::kFinal;
    case v1::GenerateEvent::kPartial:
      switch (proto_.partial().content_case()) {
        case v1::PartialContent::kLevelChunk: return Type::kLevelChunk;
        case v1::PartialContent::kMusicBar: return Type::kMusicBar;
        default: return Type::kUnknown;
      }
    default: return Type::kUnknown;
  }
}

const char* EventTypeName(Event::Type type) {
  switch (type) {
    case Event::Type::kProgress: return "progress";
    case Event::Type::kLevelChunk: return "level_chunk";
    case Event::Type::kMusicBar: return "music_bar";
    case Event::Type::kAsset: return "asset";
    case Event::Type::kFinal: return "final";
    case Event::Type::kUnknown: break;
  }
  return "unknown";
}

// --- calls ----------------------------------------------------------------------------------


Call::Call(std::unique_ptr<detail::CallState> state) : state_(std::move(state)) {}

Call::~Call() {
  if (!done_ && state_ && state_->reader) {
    state_->Cancel();
    state_->reader->Finish();  // returns promptly once cancelled
  }
}

void Call::End(Status status) {
  done_ = true;
  status_ = std::move(status);
}

bool Call::Next(Event* event) {
  if (done_) return false;
  if (state_->reader->Read(&event->proto())) {
    if (event->is_last()) state_->saw_last = true;
    return true;
  }
  Status status = state_->Map(state_->reader->Finish());
  if (status.ok() && !state_->saw_last) {
    status = Status(StatusCode::kDataLoss,
                    "the stream ended without its final event (is_last); the content is incomplete");
  }
  End(std::move(status));
  return false;
}

void Call::Cancel() {
  if (state_) state_->Cancel();
}

Call::iterator& Call::iterator::operator++() {
  if (!call_->Next(&event_)) {
    Status status = call_->status();
    call_ = nullptr;
    status.ThrowIfError();
  }
  return *this;
}

// --- Client ---------------------------------------------------------------------------------

Client::Client(const std::string& target, ClientOptions options) : impl_(std::make_unique<Impl>()) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  args.SetMaxSendMessageSize(options.max_send_message_bytes);
  if (options.keepalive_ms > 0) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, options.keepalive_ms);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, std::max(1000, options.keepalive_ms / 2));
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  }
  impl_->target = target;
  impl_->channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  impl_->stub = v1::GameGen::NewStub(impl_->channel);
}

Client::Client(std::shared_ptr<grpc::Channel> channel) : impl_(std::make_unique<Impl>()) {
  impl_->channel = std::move(channel);
  impl_->stub = v1::GameGen::NewStub(impl_->channel);
}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

const std::shared_ptr<grpc::Channel>& Client::channel() const { return impl_->channel; }

Status Client::ListModels(const std::string& kind, std::vector<ModelInfo>* models, const CallOptions& options) {
  detail::CallState state(impl_->channel, impl_->target, options);
  v1::ListModelsRequest request;
  request.set_kind(kind);
  v1::ListModelsResponse response;
  Status status = state.Map(impl_->stub->ListModels(&state.context, request, &response));
  if (status.ok()) models->assign(response.models().begin(), response.models().end());
  return status;
}

std::vector<ModelInfo> Client::ListModels(const std::string& kind, const CallOptions& options) {
  std::vector<ModelInfo> models;
  ListModels(kind, &models, options).ThrowIfError();
  return models;
}

std::unique_ptr<Call> Client::Generate(const Request& request, const CallOptions& options) {
  auto state = std::make_unique<detail::CallState>(impl_->channel, impl_->target, options);
  state->reader = impl_->stub->Generate(&state->context, request.proto());
  return std::unique_ptr<Call>(new Call(std::move(state)));
}

Status Client::Generate(const Request& request, const Callbacks& callbacks, const CallOptions& options) {
  std::unique_ptr<Call> call = Generate(request, options);  // cancelled by its destructor on a throw
  Event event;
  while (call->Next(&event)) {
    if (callbacks.on_event) callbacks.on_event(event);
    switch (event.type()) {
      case Event::Type::kProgress:
        if (callbacks.on_progress) callbacks.on_progress(event.progress());
        break;
      case Event::Type::kLevelChunk:
        if (callbacks.on_level_chunk) callbacks.on_level_chunk(event.level_chunk());
        break;
      case Event::Type::kMusicBar:
        if (callbacks.on_music_bar) callbacks.on_music_bar(event.music_bar());
        break;
      case Event::Type::kAsset:
        if (callbacks.on_asset) callbacks.on_asset(event.asset());
        break;
      case Event::Type::kFinal:
        if (callbacks.on_final) callbacks.on_final(event.final());
        break;
      case Event::Type::kUnknown:
        break;
    }
  }
  return call->status();
}

}  // namespace gamegen

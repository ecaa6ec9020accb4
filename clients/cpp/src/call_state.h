// The state every streaming call of the C++ client shares (private to src/).
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "gamegen/client.h"
#include "gamegen/v1/gamegen.grpc.pb.h"

namespace gamegen {

namespace detail {

// What every streaming call shares: the gRPC context with its deadline, the link to a
// CancelToken, and the mapping of a finished call's status to a gamegen::Status. A Generate Call
// holds one with its ClientReader; a Session one next to its ClientReaderWriter.
struct CallState {
  grpc::ClientContext context;
  std::shared_ptr<grpc::Channel> channel;  // keeps the connection alive for the call's life
  std::string target;
  std::optional<std::chrono::milliseconds> timeout;
  std::chrono::system_clock::time_point deadline;
  std::optional<CancelToken> token;
  uint64_t token_id = 0;
  std::atomic<bool> cancel_requested{false};
  bool saw_last = false;
  std::unique_ptr<grpc::ClientReader<v1::GenerateEvent>> reader;

  CallState(std::shared_ptr<grpc::Channel> ch, std::string tgt, const CallOptions& options)
      : channel(std::move(ch)), target(std::move(tgt)), timeout(options.timeout), token(options.cancel) {
    if (timeout) {
      deadline = std::chrono::system_clock::now() + *timeout;
      context.set_deadline(deadline);
    }
    context.set_wait_for_ready(options.wait_for_ready);
    // Registered before the call starts: a token fired early cancels the call as it starts.
    if (token) token_id = token->Register([this] { Cancel(); });
  }

  ~CallState() {
    if (token && token_id) token->Unregister(token_id);
  }

  void Cancel() {
    cancel_requested = true;
    context.TryCancel();
  }

  Status Map(const grpc::Status& s) const {
    auto code = static_cast<StatusCode>(s.error_code());
    std::string msg = s.error_message();
    if (code == StatusCode::kCancelled && cancel_requested) {
      msg = "the call was cancelled by the client";
    } else if (code == StatusCode::kDeadlineExceeded && timeout && std::chrono::system_clock::now() >= deadline) {
      // this call's own deadline (not a server's, e.g. a session's idle timeout, which says so)
      msg = "deadline of " + std::to_string(timeout->count()) + " ms passed" + (msg.empty() ? "" : " (" + msg + ")");
    } else if (code == StatusCode::kUnavailable) {
      msg = "server at " + (target.empty() ? std::string("the channel's target") : target) +
            " is unreachable or went away: " + msg;
    }
    return Status(code, msg);
  }
};

}  // namespace detail

struct Client::Impl {
  std::string target;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::GameGen::Stub> stub;
};

}  // namespace gamegen

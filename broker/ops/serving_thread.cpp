#include "broker/ops/serving_thread.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "broker/ops/log.h"

namespace broker::ops {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

struct ServingThread::Impl {
  httplib::Server* server = nullptr;
  std::thread thread;
  std::string endpoint;
  std::atomic<bool> finished{false};
};

ServingThread::ServingThread(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ServingThread::~ServingThread() {
  stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void ServingThread::stop() { impl_->server->stop(); }

const std::string& ServingThread::endpoint() const { return impl_->endpoint; }

Result<std::unique_ptr<ServingThread>> ServingThread::start(httplib::Server& server, const HostPort& address,
                                                            const std::string& name) {
  const bool v6 = address.host.find(':') != std::string::npos;
  const std::string listen = (v6 ? "[" + address.host + "]" : address.host) + ":";
  int port = address.port;
  if (port == 0) {
    port = server.bind_to_any_port(address.host);
    if (port <= 0) return Error{ErrorCode::kTransport, name + ": cannot bind " + listen + "0"};
  } else if (!server.bind_to_port(address.host, port)) {
    return Error{ErrorCode::kTransport,
                 name + ": cannot bind " + listen + std::to_string(port) + " (address in use or not local?)"};
  }
  auto impl = std::make_unique<Impl>();
  impl->server = &server;
  impl->endpoint = listen + std::to_string(port);
  impl->thread = std::thread([&server, &finished = impl->finished, name] {
    if (!server.listen_after_bind()) log().error("{} stopped serving", name);
    finished = true;
  });
  // stop() only interrupts a server that is running; wait for that before handing it out, so the
  // destructor can never miss it.
  while (!server.is_running() && !impl->finished) std::this_thread::yield();
  return std::unique_ptr<ServingThread>(new ServingThread(std::move(impl)));
}

}  // namespace broker::ops

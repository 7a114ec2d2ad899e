#pragma once
// ServingThread: binds a cpp-httplib server to an address and serves it on a thread of its own.
// Shared by the operator endpoint (http_server.h) and the console (broker/console/server.h), which
// differ only in their routes and limits. httplib stays out of this header (a forward declaration).
//
// Lifecycle: start() returns once the server runs (so stop() can never miss it); the destructor
// stops the server and joins. The server must outlive its ServingThread: declare the
// ServingThread after the server it serves.

#include <memory>
#include <string>

#include "broker/ops/http_server.h"
#include "contracts/error.h"

namespace httplib {
class Server;
}

namespace broker::ops {

class ServingThread {
 public:
  // kTransport "<name>: cannot bind <host:port>" when the bind fails. `name` also names the
  // server in the log line written if it stops serving on its own.
  [[nodiscard]] static contracts::Result<std::unique_ptr<ServingThread>> start(httplib::Server& server,
                                                                               const HostPort& address,
                                                                               const std::string& name);
  ~ServingThread();
  ServingThread(const ServingThread&) = delete;
  ServingThread& operator=(const ServingThread&) = delete;

  // "host:port" or "[v6-host]:port" as bound (the real port when 0 was asked for).
  const std::string& endpoint() const;
  void stop();  // stops serving; any thread may call it (the destructor does)

 private:
  struct Impl;
  explicit ServingThread(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace broker::ops

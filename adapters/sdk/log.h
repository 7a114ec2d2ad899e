#pragma once
// The SDK's named logger ("sdk"). Partners' programs choose its sinks and level like any spdlog
// logger; the SDK never logs payloads or secret keys.

namespace spdlog {
class logger;
}

namespace partner {

spdlog::logger& log();  // "sdk"

}  // namespace partner

#pragma once
// The email adapter's named logger ("email-adapter"). Never logs mail bodies, payloads or passwords.

namespace spdlog {
class logger;
}

namespace email {

spdlog::logger& log();  // "email-adapter"

}  // namespace email

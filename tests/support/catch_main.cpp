// Test main: Catch2's runner, with spdlog quiet (warnings and errors only) unless SPDLOG_LEVEL says
// otherwise.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

int main(int argc, char* argv[]) {
  spdlog::set_level(spdlog::level::warn);
  spdlog::cfg::load_env_levels();
  return Catch::Session().run(argc, argv);
}

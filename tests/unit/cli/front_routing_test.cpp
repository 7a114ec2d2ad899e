// Which executable runs a command line (broker/cli/front_routing.h): keten-inspect for the
// inspector's tools on a store file or bundle; anything that needs a library only keten-full loads
// goes there.
#include "broker/cli/front_routing.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using Args = std::vector<std::string>;

namespace {

// runs_in_inspect on `args` as a command line after argv[0].
bool in_inspect(const Args& args) {
  std::vector<const char*> argv = {"keten"};
  for (const auto& arg : args) argv.push_back(arg.c_str());
  return keten_cli::runs_in_inspect(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("the inspector's tools on a store file or bundle run in keten-inspect", "[cli][front]") {
  for (const char* tool : {"verify", "export", "replay", "prove", "consistency"}) {
    CAPTURE(tool);
    CHECK(in_inspect({"log", tool, "--store", "/var/lib/keten/keten.db"}));
    CHECK(in_inspect({"log", tool, "--bundle=case.bundle", "--case", "V1"}));
  }
  CHECK(in_inspect({"log", "replay", "--store", "s.db", "--case", "V1", "--format", "html", "--out", "t.html"}));
  CHECK(in_inspect({"report", "quality", "--store", "s.db", "--format", "json"}));
}

TEST_CASE("keten's own options before the subcommand do not hide it", "[cli][front]") {
  CHECK(in_inspect({"--log-level", "warn", "log", "verify", "--store", "s.db"}));
  CHECK(in_inspect({"--log-level=warn", "--log-format", "json", "log", "replay", "--bundle", "b", "--case", "V"}));
  // A value that looks like a subcommand is a value.
  CHECK_FALSE(in_inspect({"--log-level", "log", "serve"}));
}

TEST_CASE("every other command runs in keten-full", "[cli][front]") {
  for (const Args& args :
       {Args{}, Args{"serve", "--config", "broker.toml"}, Args{"send", "--profile", "p.toml"}, Args{"report"},
        Args{"quality", "report"}, Args{"case", "hold", "V1"}, Args{"bench"}, Args{"adapter", "file"}, Args{"log"},
        Args{"log", "resend", "--store", "s.db"}, Args{"log", "revalidate", "--store", "s.db"},
        Args{"--log-level", "warn"}, Args{"verify", "log"}}) {
    CAPTURE(args);
    CHECK_FALSE(in_inspect(args));
  }
}

TEST_CASE("help lists every command, so it comes from keten-full", "[cli][front]") {
  for (const char* help : {"-h", "--help", "--help-all"}) {
    CAPTURE(help);
    CHECK_FALSE(in_inspect({help}));
    CHECK_FALSE(in_inspect({"log", help}));
    CHECK_FALSE(in_inspect({"log", "replay", help}));
  }
}

TEST_CASE("a re-send through ZeroMQ or a PostgreSQL store is keten-full's", "[cli][front]") {
  CHECK_FALSE(in_inspect({"log", "replay", "--store", "s.db", "--case", "V1", "--into", "profiles/"}));
  CHECK_FALSE(in_inspect({"log", "replay", "--store", "s.db", "--case", "V1", "--into=profiles/"}));
  CHECK_FALSE(in_inspect({"log", "verify", "--store", "postgresql://keten@db/keten"}));
  CHECK_FALSE(in_inspect({"log", "export", "--store=postgres://db/keten", "--out", "b"}));
  CHECK_FALSE(in_inspect({"report", "quality", "--store", "postgresql:///keten"}));
}

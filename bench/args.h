#pragma once
// A tiny `--name value` / `--flag` parser for the peer programs (raw_zmq, rabbit_bench), so they
// stay cheap to compile. Header-only; throws std::invalid_argument naming the bad option.

#include <map>
#include <set>
#include <stdexcept>
#include <string>

namespace bench {

class Args {
 public:
  Args(int argc, char** argv, std::set<std::string> flags) {
    for (int i = 1; i < argc; ++i) {
      std::string name = argv[i];
      if (name.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument " + name);
      name = name.substr(2);
      if (flags.count(name)) {
        values_[name] = "1";
      } else if (i + 1 < argc) {
        values_[name] = argv[++i];
      } else {
        throw std::invalid_argument("--" + name + " needs a value");
      }
    }
  }
  std::string str(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  double num(const std::string& name, double fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    try {
      return std::stod(it->second);
    } catch (const std::exception&) {
      throw std::invalid_argument("--" + name + ": not a number: " + it->second);
    }
  }
  bool flag(const std::string& name) const { return values_.count(name) > 0; }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace bench

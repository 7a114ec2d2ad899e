#include "bench/payload.h"

#include <stdexcept>

namespace bench {

std::string padded_payload(std::string_view base, std::size_t size, std::string_view field) {
  while (!base.empty() && (base.back() == '\n' || base.back() == ' ' || base.back() == '\r' || base.back() == '\t'))
    base.remove_suffix(1);
  if (base.size() < 2 || base.back() != '}') throw std::invalid_argument("bench payload: not a JSON object text");
  // ',' + '"' field '"' + ':' + '"' + pad + '"'
  const std::size_t overhead = 1 + field.size() + 2 + 1 + 2;
  if (base.size() + overhead > size) return std::string(base);
  std::string out(base.substr(0, base.size() - 1));
  bool empty_object = out.find_first_not_of(" \t\r\n", 1) == std::string::npos;
  std::size_t pad = size - base.size() - overhead;
  if (empty_object) ++pad;  // no comma needed in {}
  if (!empty_object) out += ',';
  out += '"';
  out += field;
  out += "\":\"";
  out.append(pad, 'x');
  out += "\"}";
  return out;
}

}  // namespace bench

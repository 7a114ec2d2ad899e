#include "contracts/digest.h"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace contracts {
namespace {

static_assert(std::tuple_size_v<Sha256> == 32);

struct MdFree {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};
struct CtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// OpenSSL 3's one-shot SHA256() looks the algorithm up on every call, which costs more than
// hashing a log row: fetch it once, and keep one context per thread.
const EVP_MD* sha256_md() {
  static const std::unique_ptr<EVP_MD, MdFree> md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md.get();
}

}  // namespace

Sha256 sha256(const void* bytes, std::size_t size) {
  thread_local const std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  Sha256 hash{};
  unsigned int length = 0;
  if (!ctx || !sha256_md() || EVP_DigestInit_ex2(ctx.get(), sha256_md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes, size) != 1 || EVP_DigestFinal_ex(ctx.get(), hash.data(), &length) != 1 ||
      length != hash.size()) {
    // Only without memory or with a libcrypto lacking SHA-256; a wrong digest must never be used.
    throw std::runtime_error("libcrypto SHA-256 failed");
  }
  return hash;
}

std::string hex_of(const Sha256& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * digest.size(), '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0x0f];
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) { return hex_of(sha256(bytes.data(), bytes.size())); }

}  // namespace contracts

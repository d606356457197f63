#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace synmap::common::internal {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
struct X509StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct X509StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
// Frees the stack only, not the certificates in it: they stay owned by their X509Handles, which
// must outlive the stack.
struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
using BioHandle = std::unique_ptr<BIO, BioFree>;
using X509Handle = std::unique_ptr<X509, X509Free>;
using EvpPkeyHandle = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using SslCtxHandle = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslHandle = std::unique_ptr<SSL, SslFree>;
using X509StoreHandle = std::unique_ptr<X509_STORE, X509StoreFree>;
using X509StoreCtxHandle = std::unique_ptr<X509_STORE_CTX, X509StoreCtxFree>;
using X509StackHandle = std::unique_ptr<STACK_OF(X509), X509StackFree>;

// A read-only memory BIO over `pem`, which must outlive it.
inline BioHandle MemoryBio(absl::string_view pem) {
  return BioHandle(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate in `pem`, or null when there is none that parses.
X509Handle ParseFirstCertificate(absl::string_view pem);

// Every certificate of `pem`, in order (empty when none parses).
std::vector<X509Handle> ParseAllCertificates(absl::string_view pem);

// ASN1_TIME -> absl::Time; InfinitePast when it cannot be converted.
absl::Time ToAbslTime(const ASN1_TIME* t);

// The last OpenSSL error as text (and clears the queue), or "unknown error".
std::string TakeOpenSslError();

}  // namespace synmap::common::internal

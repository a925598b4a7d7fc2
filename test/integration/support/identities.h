// The identities tenants really have, for tests that act as them: a person (a user the API server
// authenticates by client certificate, as an Organization's adminUsers are), a ServiceAccount's
// own token.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "integration/support/cluster.h"
#include "kube/client.h"

namespace aphex::testing {

namespace detail {

template <class T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Freer<BIO, BIO_free_all>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Freer<X509, X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Freer<X509_EXTENSION, X509_EXTENSION_free>>;

inline std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::string pemOf(const std::function<int(BIO*)>& write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) throw std::runtime_error("PEM encoding failed");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<size_t>(size)};
}

}  // namespace detail

// A person: a client certificate for `user` (its CN, as the API server reads a username), signed
// by the local cluster's CA the way scripts/local-cluster issues the admin's and the tester's.
inline kube::ClientConfig personIdentity(const std::string& user) {
  const std::string pki = clusterDir() + "/pki/";
  const std::string ca_cert_pem = detail::readFile(pki + "ca.crt");
  const std::string ca_key_pem = detail::readFile(pki + "ca.key");
  detail::BioPtr cert_bio(BIO_new_mem_buf(ca_cert_pem.data(), static_cast<int>(ca_cert_pem.size())));
  detail::BioPtr key_bio(BIO_new_mem_buf(ca_key_pem.data(), static_cast<int>(ca_key_pem.size())));
  detail::CertPtr ca_cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  detail::KeyPtr ca_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!ca_cert || !ca_key) throw std::runtime_error("cannot load the cluster CA from " + pki);

  detail::KeyPtr key(EVP_EC_gen("P-256"));
  detail::CertPtr cert(X509_new());
  if (!key || !cert) throw std::runtime_error("cannot make a key and certificate");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) throw std::runtime_error("RAND_bytes failed");
  serial[0] &= 0x7f;  // positive
  X509_set_version(cert.get(), 2);
  std::unique_ptr<BIGNUM, detail::Freer<BIGNUM, BN_free>> serial_number(BN_bin2bn(serial, sizeof serial, nullptr));
  BN_to_ASN1_INTEGER(serial_number.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(user.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  X509V3_CTX context;
  X509V3_set_ctx(&context, ca_cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                                   std::pair{NID_key_usage, "critical,digitalSignature"},
                                   std::pair{NID_ext_key_usage, "clientAuth"}}) {
    detail::ExtPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
    if (!extension || X509_add_ext(cert.get(), extension.get(), -1) != 1) throw std::runtime_error("X509 extension");
  }
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");

  kube::ClientConfig config = adminConfig();
  config.bearer_token.clear();
  config.client_cert_pem = detail::pemOf([&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); });
  config.client_key_pem = detail::pemOf([&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return config;
}


// A client configuration that authenticates as ServiceAccount `ns`/`name` with a token of its
// own (TokenRequest, one hour), and nothing else: no client certificate, so only the account's
// RBAC applies. The account must exist.
inline kube::ClientConfig serviceAccountIdentity(kube::Client& admin, const std::string& ns, const std::string& name) {
  const kube::ResourceType token_requests{
      .group = "", .version = "v1", .plural = "serviceaccounts/" + name + "/token", .namespaced = true};
  auto token = admin.create(token_requests, ns,
                            {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"},
                             {"spec", {{"expirationSeconds", 3600}}}});
  if (!token) throw std::runtime_error("TokenRequest for " + ns + "/" + name + ": " + token.error().message);
  kube::ClientConfig config = adminConfig();
  config.client_cert_pem.clear();
  config.client_key_pem.clear();
  config.bearer_token = (*token)["status"]["token"].get<std::string>();
  return config;
}

}  // namespace aphex::testing

#pragma once

#include <string>

namespace synmap::collector {

// The address of the client whose TLS handshake the calling thread is working on, in gRPC's
// peer form ("ipv4:10.0.0.5:41234", "ipv6:[2001:db8::5]:41234"), or "" when it cannot be
// told. Only meaningful on a gRPC thread inside a handshake: in the certificate verifier and in
// the log function while gRPC reports a failed handshake.
//
// How: gRPC 1.51 gives neither its certificate verifier nor its "Handshake failed" log line
// the connection they concern, and a handshake step need not run on the thread that read its
// bytes, nor before that thread reads other sockets (gRPC queues the step, and checks the peer
// after its own write completes). So the handshake is followed by its bytes, which this file
// sees by interposing, for the whole process (the executable's definitions come first for
// libgrpc too):
//   1. recvmsg: the first bytes read from a socket, and the socket (a small lock-free table);
//   2. BIO_write: gRPC hands the bytes of a handshake step, copied, to OpenSSL; the thread
//      remembers their first bytes;
//   3. SSL_do_handshake(ssl), next on that thread: those first bytes name the socket they were
//      read from, and so the connection this SSL object is; its peer is kept until SSL_free;
//   4. SSL_do_handshake and gRPC's peer extraction (SSL_get1_peer_certificate,
//      SSL_get_peer_cert_chain, right before the verifier on the same thread) make that SSL
//      the thread's current handshake, which this function names.
// It answers "" unless the socket is a TCP connection accepted on a port passed to
// RegisterListeningPort (so a client socket of the same process is never named). Handshakes
// whose first 32 bytes other sockets also sent, while a step of one of them was still to come
// (never the case for TLS, whose handshake messages carry fresh random bytes; identical
// plain-TCP probes at once are), are not named: "" rather than perhaps another one's address
// (internal/recent_reads.h).
std::string HandshakePeerAddress();

// Ports this process's gRPC server listens on (HandshakePeerAddress only names connections
// accepted on them). Thread-safe.
void RegisterListeningPort(int port);
void UnregisterListeningPort(int port);

}  // namespace synmap::collector

#pragma once

#include <string>

namespace synmap::collector {

// The address of the client whose TLS handshake the calling thread is working on, in gRPC's
// peer form ("ipv4:10.0.0.5:41234", "ipv6:[2001:db8::5]:41234"), or "" when it cannot be
// told. Only meaningful on a gRPC thread inside a handshake: in the certificate verifier and in
// the log function while gRPC reports a failed handshake.
//
// How: gRPC 1.51 gives neither its certificate verifier nor its "Handshake failed" log line
// the connection they concern. But it runs a server handshake step on the thread that read the
// step's bytes, synchronously: the endpoint's read (recvmsg on the connection's socket) calls
// the handshaker, which runs OpenSSL and then the certificate verifier, or logs OpenSSL's
// error, before that thread reads from any other socket. So this file interposes recvmsg for
// the whole process (the executable's definition comes first for libgrpc too) to remember, per
// thread, the last socket read, and this function names that socket's peer. It answers "" unless
// that socket is a TCP connection accepted on a port passed to RegisterListeningPort (so a
// client socket of the same process, or anything unexpected, is never named).
std::string HandshakePeerAddress();

// Ports this process's gRPC server listens on (HandshakePeerAddress only names connections
// accepted on them). Thread-safe.
void RegisterListeningPort(int port);
void UnregisterListeningPort(int port);

}  // namespace synmap::collector

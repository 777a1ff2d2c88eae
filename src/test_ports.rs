//! A loopback port that refuses connections, for unit tests of what a refused connection does.

/// A socket bound to a loopback port that never listens: connecting to the port is refused for as
/// long as the socket lives, and no other process can take the port meanwhile (a port bound and
/// then released could be taken before the test connects). Returns the socket to hold, and the
/// port.
pub fn closed_port() -> (socket2::Socket, u16) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    socket.bind(&loopback.into()).unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    (socket, port)
}

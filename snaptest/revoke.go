package snaptest

// RevokeToken revokes one token the server issued (an access token, B2B or
// B2B2C, or a refresh token), as a provider does when a customer signs out
// or its fraud checks distrust a token. It reports whether the server knew
// the token. Other tokens, the revoked token's refresh token included, stay
// valid.
func (s *Server) RevokeToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.st.tokens[token]
	delete(s.st.tokens, token)
	return ok
}

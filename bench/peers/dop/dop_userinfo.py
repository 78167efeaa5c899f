def userinfo(claims, user):
    """Profile and email claims, as the other OPs release them for the same scopes."""
    claims["name"] = user.get_full_name()
    claims["given_name"] = user.first_name
    claims["family_name"] = user.last_name
    claims["preferred_username"] = user.get_username()
    claims["email"] = user.email
    claims["email_verified"] = False
    return claims

"""Hashing for OAuth2 client secrets.

Password hashers are slow on purpose because people pick guessable passwords. Client secrets
are 240 random bits that nobody can guess, so stretching adds no safety, only ~0.3 s of CPU on
every token request. Salted PBKDF2 with a small iteration count keeps them unreadable at rest.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class ClientSecretHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_sha256_client_secret"
    iterations = 1000

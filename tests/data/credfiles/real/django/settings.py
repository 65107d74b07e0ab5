"""Django settings for shop."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# SECURITY WARNING: keep the secret key used in production secret!
SECRET_KEY = 'django-insecure-8f#k2l!x9q@m3n$w7p^r5t&y1u*i0o(e)z'

DEBUG = False

ALLOWED_HOSTS = ["shop.acme-corp.io"]

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': 'shop',
        'USER': 'shop',
        'PASSWORD': 'shop1234pg',
        'HOST': 'db.internal.acme-corp.io',
        'PORT': '5432',
    }
}

EMAIL_HOST_PASSWORD = "mailpass2024"

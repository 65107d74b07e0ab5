"""Django settings for shop."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# SECURITY WARNING: keep the secret key used in production secret!
SECRET_KEY = os.environ['DJANGO_SECRET_KEY']

DEBUG = False

ALLOWED_HOSTS = ["shop.acme-corp.io"]

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': 'shop',
        'USER': 'shop',
        'PASSWORD': os.environ['DB_PASSWORD'],
        'HOST': 'db.internal.acme-corp.io',
        'PORT': '5432',
    }
}

EMAIL_HOST_PASSWORD = ''

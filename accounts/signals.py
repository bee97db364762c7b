"""Cached sign-ins (accounts.authcache) forget a user whenever the user or one of their memberships changes."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import authcache
from .models import Membership, User


@receiver([post_save, post_delete], sender=User)
def user_changed(sender, instance, **kwargs):
    authcache.forget_user(instance.pk)


@receiver([post_save, post_delete], sender=Membership)
def membership_changed(sender, instance, **kwargs):
    authcache.forget_user(instance.user_id)

from django import template

from notifications.models import Notification

register = template.Library()


@register.simple_tag
def unread_count(user) -> int:
    """The bell's count on every page: one query through notification_unread_idx."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.for_user(user).unread().count()

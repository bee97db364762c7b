from django.apps import AppConfig


class AfterschoolConfig(AppConfig):
    name = "afterschool"
    verbose_name = "课后服务 After-school services"

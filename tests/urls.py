"""The real routes plus a few views that exist only to drive the error paths of the envelope."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from getitdone.urls import urlpatterns as real_urlpatterns


class AddressSerializer(serializers.Serializer):
    city = serializers.CharField()
    zip = serializers.RegexField(r"^\d{5}$")


class DetailsSerializer(serializers.Serializer):
    address = AddressSerializer()


class ChildSerializer(serializers.Serializer):
    status = serializers.CharField()


class ProbeSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=10)
    details = DetailsSerializer()
    children = ChildSerializer(many=True, required=False)


class ProbeView(APIView):
    def get(self, request):
        return Response({"integrator": request.user.name})

    def post(self, request):
        serializer = ProbeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=201)


class BoomView(APIView):
    def get(self, request):
        raise RuntimeError("SELECT secret FROM vault -- must never reach the client")


@require_POST
def django_only(request):
    return HttpResponse("ok")


urlpatterns = [
    path("api/test/probe", ProbeView.as_view()),
    path("api/v1/test/probe", ProbeView.as_view()),
    path("api/test/boom", BoomView.as_view()),
    path("api/test/django-only", django_only),
    *real_urlpatterns,
]

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Board, Ticket


def home(request: HttpRequest) -> HttpResponse:
    boards = Board.objects.for_user(request.user)
    return render(request, "boards/home.html", {"boards": boards})


def board(request: HttpRequest, slug: str) -> HttpResponse:
    board = get_object_or_404(Board.objects.for_user(request.user), slug=slug)
    return render(request, "boards/board.html", {"board": board})


def ticket(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket.objects.for_user(request.user), pk=pk)
    return render(request, "boards/ticket.html", {"ticket": ticket})

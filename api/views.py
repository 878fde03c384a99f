"""The REST API, /api/v1/: what a technician does in the browser, for scripts and integrations.

The views parse input with the serializers, ask ``boards.permissions`` who
may do what (the rule the board views use), and delegate every write to the
same services the browser's views call: ``boards.services.create_ticket``
(through ``routing.services.open_ticket``), ``boards.services.update_ticket``,
``routing.services.move_ticket`` and ``boards.services.add_note``.

- A ticket you may not see is a 404; changing one on a board you don't work
  is a 403 (``not_your_board``), exactly as in the browser.
- PATCH needs ``If-Match: "<version>"`` (428 without, 412 when stale); a move
  needs ``version`` in its body (409 naming who moved the ticket when stale).
- Errors are RFC 9457 problems (api.problems).
"""

from __future__ import annotations

from base64 import b64decode
from urllib.parse import parse_qs

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boards import permissions, services
from boards.forms import ascii_int
from boards.models import Board, Client, Column, Note, Skill, Technician, Ticket
from routing.models import Criterion, Move
from routing.services import Conflict, NotAllowed, move_ticket

from . import serializers as s
from .problems import Problem

PROBLEM = OpenApiResponse(OpenApiTypes.OBJECT, description="An RFC 9457 problem (application/problem+json).")


class ApiView(APIView):
    """An API view: answers 401 itself rather than sending strangers to the login page."""

    @classmethod
    def as_view(cls, **initkwargs):
        return login_not_required(super().as_view(**initkwargs))


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: JSON by default, YAML with ?format=yaml."""

    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]

    @classmethod
    def as_view(cls, **initkwargs):
        return login_not_required(super().as_view(**initkwargs))

    def handle_exception(self, exc):
        # A problem is JSON whatever format the schema was asked in.
        self.request.accepted_renderer = JSONRenderer()
        return super().handle_exception(exc)


class TicketCursor(CursorPagination):
    """Newest first by number: a stable order that new tickets never shuffle (served by the primary key)."""

    page_size = 25
    max_page_size = 100
    page_size_query_param = "page_size"
    ordering = "-id"

    def decode_cursor(self, request):
        # DRF's own answer to a forged cursor is a 404, and a position that is
        # not a number would reach the database as one (a 500). A 400 instead.
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return None
        try:
            query = parse_qs(b64decode(raw.encode("ascii"), validate=True).decode("ascii"), keep_blank_values=True)
        except (ValueError, UnicodeError):
            query = None
        position = (query or {}).get("p", [None])[0]
        if query is None or (position is not None and ascii_int(position) is None):
            raise Problem("invalid", "That cursor is not one this API gave out.", errors={"cursor": ["Invalid."]})
        for key in ("o", "r"):
            if ascii_int((query.get(key) or ["0"])[0]) is None:
                raise Problem("invalid", "That cursor is not one this API gave out.", errors={"cursor": ["Invalid."]})
        return super().decode_cursor(request)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = ascii_int(raw)
        if size is None or not 1 <= size <= self.max_page_size:
            raise Problem("invalid", f"page_size is a whole number from 1 to {self.max_page_size}.")
        return size


# --- Getters: the same semantics as the board views' --------------------------


def _ticket_for_user(request: Request, pk: int) -> Ticket:
    """A ticket the caller may see, with what the detail shows; 404 otherwise."""
    moves = Move.objects.select_related("actor", "criterion", "from_board", "to_board", "from_column", "to_column")
    ticket = (
        Ticket.objects.select_related("board", "column", "client", "assignee")
        .prefetch_related("required_skills", Prefetch("moves", queryset=moves.order_by("created_at", "pk")))
        .filter(pk=pk)
        .first()
    )
    if ticket is None or not permissions.can_view(request.user, ticket):
        raise Problem("not_found", "No ticket with that number on your boards.")
    return ticket


def _ticket_for_change(request: Request, pk: int) -> Ticket:
    """A ticket the caller may change: 404 when there is none, 403 on a board they don't work."""
    ticket = Ticket.objects.select_related("board", "column").filter(pk=pk).first()
    if ticket is None:
        raise Problem("not_found", "No ticket with that number.")
    if not permissions.can_work(request.user, ticket.board_id):
        raise Problem("not_your_board", f"{ticket.number} is on the {ticket.board.name} board, which you do not work.")
    return ticket


def _detail(request: Request, pk: int, *, status_code: int = status.HTTP_200_OK, headers=None) -> Response:
    ticket = _ticket_for_user(request, pk)
    response = Response(s.TicketDetailSerializer(ticket).data, status=status_code, headers=headers)
    response["ETag"] = f'"{ticket.version}"'
    return response


def _conflict_extra(exc: Conflict) -> dict:
    move = exc.last_move
    return {
        "current_version": exc.ticket.version,
        "moved_by": s.person(move.actor) if move is not None else None,
        "moved_by_scheduler": move is not None and move.actor_id is None,
        "moved_at": move.created_at.isoformat() if move is not None else None,
        "board": exc.ticket.board.slug,
        "column": exc.ticket.column_id,
    }


def _validated(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Boards, columns, criteria, technicians -----------------------------------


class BoardList(ApiView):
    """Every board with its columns; `works` says whether you may move and edit its tickets."""

    @extend_schema(responses={200: s.BoardSerializer(many=True)}, summary="Every board, with its columns")
    def get(self, request: Request) -> Response:
        boards = Board.objects.prefetch_related("columns").order_by("position", "name")
        context = {"can_work": lambda board_id: permissions.can_work(request.user, board_id)}
        return Response(s.BoardSerializer(boards, many=True, context=context).data)


class ColumnList(ApiView):
    """Columns in board and position order; `category` is new, active, waiting or done."""

    @extend_schema(
        parameters=[OpenApiParameter("board", str, description="Only this board's columns (its slug).")],
        responses={200: s.ColumnSerializer(many=True), 400: PROBLEM},
        summary="Columns, board by board",
    )
    def get(self, request: Request) -> Response:
        columns = Column.objects.select_related("board").order_by("board__position", "board__name", "position", "pk")
        if "board" in request.query_params:
            slug = _validated(s.TicketFilterSerializer, {"board": request.query_params["board"]})["board"]
            columns = columns.filter(board__slug=slug)
        return Response(s.ColumnSerializer(columns, many=True).data)


class CriterionList(ApiView):
    """The criteria that move tickets; `by_hand` ones may be POSTed as a move."""

    @extend_schema(responses={200: s.CriterionSerializer(many=True)}, summary="Criteria (switched-off ones too)")
    def get(self, request: Request) -> Response:
        criteria = Criterion.objects.select_related("from_board", "to_board").order_by("position", "name")
        return Response(s.CriterionSerializer(criteria, many=True).data)


class TechnicianList(ApiView):
    """Active technicians with their tier, boards and skills."""

    @extend_schema(responses={200: s.TechnicianSerializer(many=True)}, summary="Active technicians")
    def get(self, request: Request) -> Response:
        technicians = (
            Technician.objects.filter(user__is_active=True)
            .select_related("user")
            .prefetch_related("boards", "skills")
            .order_by("user__username")
        )
        return Response(s.TechnicianSerializer(technicians, many=True).data)


# --- Tickets ------------------------------------------------------------------


class TicketList(ApiView):
    """Tickets you may see (on boards you work, or assigned to you), and opening new ones."""

    @extend_schema(
        parameters=[s.TicketFilterSerializer],
        responses={200: s.TicketSerializer(many=True), 400: PROBLEM},
        summary="Tickets you may see, newest first, 25 a page",
    )
    def get(self, request: Request) -> Response:
        filters = _validated(s.TicketFilterSerializer, request.query_params.dict())
        tickets = Ticket.objects.visible_to(request.user)
        if "board" in filters:
            # By id, not a join on the slug: PostgreSQL then knows which board
            # and walks the primary key backwards for a page, rather than
            # sorting every open ticket of the board (bench/api.py).
            board_id = Board.objects.filter(slug=filters["board"]).values_list("pk", flat=True).first()
            tickets = tickets.filter(board_id=board_id)
        if "column" in filters:
            tickets = tickets.filter(column_id=filters["column"])
        if "assignee" in filters:
            who = filters["assignee"]
            if who == "none":
                tickets = tickets.filter(assignee__isnull=True)
            else:
                # By id, as the board: PostgreSQL plans a known id, not a join on a name.
                user_id = request.user.pk if who == "me" else _user_id(who)
                tickets = tickets.filter(assignee_id=user_id)
        if "priority" in filters:
            tickets = tickets.filter(priority=filters["priority"])
        if filters["state"] == "open":
            tickets = tickets.filter(resolved_at__isnull=True)
        elif filters["state"] == "resolved":
            tickets = tickets.filter(resolved_at__isnull=False)
        if "updated_since" in filters:
            tickets = tickets.filter(updated_at__gte=filters["updated_since"])
        paginator = TicketCursor()
        page = paginator.paginate_queryset(tickets.values(*s.TICKET_ROW_FIELDS), request, view=self)
        return paginator.get_paginated_response([s.ticket_row(row) for row in page])

    @extend_schema(
        request=s.TicketCreateSerializer,
        responses={201: s.TicketDetailSerializer, 400: PROBLEM, 403: PROBLEM, 422: PROBLEM},
        summary="Open a ticket on a board you work",
    )
    def post(self, request: Request) -> Response:
        data = _validated(s.TicketCreateSerializer, request.data)
        board = Board.objects.filter(slug=data.pop("board")).first()
        if board is None:
            raise Problem("invalid", "No board with that slug.", errors={"board": ["No such board."]})
        if not permissions.can_work(request.user, board.pk):
            raise Problem("not_your_board", f"You do not work the {board.name} board.")
        client_name = data.pop("client", None)
        client = None
        if client_name:
            client = Client.objects.filter(name=client_name).first()
            if client is None:
                raise Problem("invalid", "No client with that name.", errors={"client": ["No such client."]})
        try:
            ticket = services.create_ticket(board, actor=request.user, client=client, **data)
        except NotAllowed as exc:
            raise Problem("move_not_allowed", str(exc)) from None
        location = request.build_absolute_uri(reverse("api:ticket", args=[ticket.pk]))
        return _detail(request, ticket.pk, status_code=status.HTTP_201_CREATED, headers={"Location": location})


def _user_id(username: str) -> int | None:
    return User.objects.filter(username=username).values_list("pk", flat=True).first()


def _if_match_version(request: Request) -> int:
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() in ("", "*"):
        raise Problem(
            "if_match_required", 'Send If-Match with the version you read, as the ETag gave it: If-Match: "3".'
        )
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    version = ascii_int(value)
    if version is None:
        raise Problem("malformed", 'If-Match must be the ticket\'s ETag, e.g. If-Match: "3".')
    return version


class TicketDetail(ApiView):
    """One ticket with its move timeline; PATCH with If-Match to change it."""

    @extend_schema(responses={200: s.TicketDetailSerializer, 404: PROBLEM}, summary="A ticket, with its move timeline")
    def get(self, request: Request, pk: int) -> Response:
        return _detail(request, pk)

    @extend_schema(
        request=s.TicketUpdateSerializer,
        parameters=[
            OpenApiParameter(
                "If-Match", str, OpenApiParameter.HEADER, required=True, description='The ETag you read, e.g. "3".'
            )
        ],
        responses={
            200: s.TicketDetailSerializer,
            204: OpenApiResponse(description="Saved, and a condition criterion moved it to a board you don't see."),
            400: PROBLEM,
            403: PROBLEM,
            404: PROBLEM,
            412: PROBLEM,
            422: PROBLEM,
            428: PROBLEM,
        },
        summary="Change assignee, tier, needs-onsite or required skills",
    )
    def patch(self, request: Request, pk: int) -> Response:
        ticket = _ticket_for_change(request, pk)
        version = _if_match_version(request)
        data = _validated(s.TicketUpdateSerializer, request.data)
        changes: dict = {}
        if "assignee" in data:
            changes["assignee"] = None
            if data["assignee"] is not None:
                changes["assignee"] = (
                    permissions.assignable_users(ticket.board, request.user).filter(username=data["assignee"]).first()
                )
                if changes["assignee"] is None:
                    raise Problem(
                        "invalid",
                        f"{data['assignee']} does not work the {ticket.board.name} board.",
                        errors={"assignee": ["Not someone who works this board."]},
                    )
        if "tier" in data:
            changes["tier"] = data["tier"]
        if "needs_onsite" in data:
            changes["needs_onsite"] = data["needs_onsite"]
        if "required_skills" in data:
            names = set(data["required_skills"])
            skills = list(Skill.objects.filter(name__in=names))
            missing = names - {skill.name for skill in skills}
            if missing:
                raise Problem(
                    "invalid",
                    "Unknown skills: " + ", ".join(sorted(missing)),
                    errors={"required_skills": ["Unknown skill names."]},
                )
            changes["required_skills"] = skills
        try:
            services.update_ticket(ticket, actor=request.user, expected_version=version, **changes)
        except Conflict as exc:
            raise Problem(
                "stale_version",
                f"{exc} Read it again and send its new ETag.",
                **_conflict_extra(exc),
            ) from None
        except NotAllowed as exc:
            raise Problem("move_not_allowed", str(exc)) from None
        if not permissions.can_view(request.user, Ticket.objects.only("board_id", "assignee_id").get(pk=pk)):
            # A condition criterion sent it to a board the caller doesn't work.
            return Response(status=status.HTTP_204_NO_CONTENT)
        return _detail(request, pk)


class TicketMoves(ApiView):
    """Moves: a criterion, or a column on the ticket's own board, with the version you saw."""

    @extend_schema(
        request=s.MoveCreateSerializer,
        responses={
            201: OpenApiResponse(s.MoveResultSerializer, description="Moved."),
            200: OpenApiResponse(s.MoveResultSerializer, description="Already there: move is null, nothing saved."),
            400: PROBLEM,
            403: PROBLEM,
            404: PROBLEM,
            409: PROBLEM,
            422: PROBLEM,
        },
        summary="Move a ticket: a criterion, or a column on its own board",
    )
    def post(self, request: Request, pk: int) -> Response:
        ticket = _ticket_for_change(request, pk)
        data = _validated(s.MoveCreateSerializer, request.data)
        target: dict = {}
        if "criterion" in data:
            criterion = Criterion.objects.filter(pk=data["criterion"]).first()
            if criterion is None:
                raise Problem("invalid", "No such criterion.", errors={"criterion": ["No such criterion."]})
            target = {"criterion": criterion}
        else:
            column = Column.objects.select_related("board").filter(pk=data["column"]).first()
            if column is None:
                raise Problem("invalid", "No such column.", errors={"column": ["No such column."]})
            target = {"to_column": column}
        try:
            move = move_ticket(
                ticket.pk, actor=request.user, expected_version=data["version"], note=data["note"], **target
            )
        except Conflict as exc:
            raise Problem("conflict", str(exc), **_conflict_extra(exc)) from None
        except NotAllowed as exc:
            raise Problem("move_not_allowed", str(exc)) from None
        fresh = Ticket.objects.select_related("board", "column", "client", "assignee").get(pk=pk)
        body = {
            "move": None if move is None else s.MoveSerializer(move).data,
            "ticket": s.TicketSerializer(fresh).data,
        }
        response = Response(body, status=status.HTTP_200_OK if move is None else status.HTTP_201_CREATED)
        response["ETag"] = f'"{fresh.version}"'
        return response


class TicketNotes(ApiView):
    """A ticket's notes."""

    @extend_schema(responses={200: s.NoteSerializer(many=True), 404: PROBLEM}, summary="A ticket's notes, oldest first")
    def get(self, request: Request, pk: int) -> Response:
        ticket = Ticket.objects.filter(pk=pk).only("pk", "board_id", "assignee_id").first()
        if ticket is None or not permissions.can_view(request.user, ticket):
            raise Problem("not_found", "No ticket with that number on your boards.")
        notes = (
            Note.objects.filter(ticket=ticket).select_related("author", "requester_mark").order_by("created_at", "pk")
        )
        return Response(s.NoteSerializer(notes, many=True).data)

    @extend_schema(
        request=s.NoteCreateSerializer,
        responses={201: s.NoteSerializer, 400: PROBLEM, 403: PROBLEM, 404: PROBLEM},
        summary="Add a note",
    )
    def post(self, request: Request, pk: int) -> Response:
        ticket = _ticket_for_change(request, pk)
        data = _validated(s.NoteCreateSerializer, request.data)
        note = services.add_note(ticket, author=request.user, **data)
        note.author = request.user if isinstance(request.user, User) else None
        return Response(s.NoteSerializer(note).data, status=status.HTTP_201_CREATED)
